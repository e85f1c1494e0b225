@description('The tile-range queue: peek-lock, duplicate detection on {runId}:{range}, dead-lettering after N deliveries.')
param location string
param name string

@allowed([
  'Standard'
  'Premium'
])
param sku string
@description('Reachable only through a private endpoint (Premium only): public network access off.')
param privateOnly bool = false
param queueName string
param lockDuration string
param maxDeliveryCount int
param duplicateDetectionWindow string

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: name
  location: location
  sku: {
    name: sku
    tier: sku
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: privateOnly ? 'Disabled' : 'Enabled'
  }
}

resource queue 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: namespace
  name: queueName
  properties: {
    lockDuration: lockDuration
    maxDeliveryCount: maxDeliveryCount
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: 'P2D'
  }
}

output namespaceName string = namespace.name
output id string = namespace.id
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output queueName string = queue.name
