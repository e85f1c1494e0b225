@description('One built-in Service Bus data role for one identity, on a queue.')
param namespaceName string
param queueName string
param roleId string
param principalId string
param purpose string

resource queue 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' existing = {
  name: '${namespaceName}/${queueName}'
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, principalId, roleId)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: purpose
  }
}
