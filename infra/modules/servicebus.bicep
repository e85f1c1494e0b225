@description('The tile-range queue: peek-lock, duplicate detection on {runId}:{range}; the broker dead-letters after N + 1 deliveries, the workers give a piece up after N.')
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

@description('Log Analytics workspace for this resource\'s own logs and metrics; empty sends none.')
param workspaceId string = ''

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
    // One more than the workers allow: the delivery past their limit reaches a worker, which tells the run it was lost.
    maxDeliveryCount: maxDeliveryCount + 1
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: 'P2D'
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(workspaceId)) {
  name: 'to-log-analytics'
  scope: namespace
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output namespaceName string = namespace.name
output id string = namespace.id
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output queueName string = queue.name
