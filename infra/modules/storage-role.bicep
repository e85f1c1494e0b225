@description('One built-in storage data role for one identity, on an account, a container or a queue.')
param accountName string
param containerName string = ''
param queueName string = ''
param roleId string
param principalId string
param purpose string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: accountName
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = if (!empty(containerName)) {
  name: '${accountName}/default/${empty(containerName) ? 'none' : containerName}'
}

resource queue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = if (!empty(queueName)) {
  name: '${accountName}/default/${empty(queueName) ? 'none' : queueName}'
}

var role = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)

resource onAccount 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (empty(containerName) && empty(queueName)) {
  name: guid(account.id, principalId, roleId)
  scope: account
  properties: {
    roleDefinitionId: role
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: purpose
  }
}

resource onContainer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(containerName)) {
  name: guid(account.id, containerName, principalId, roleId)
  scope: container
  properties: {
    roleDefinitionId: role
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: purpose
  }
}

resource onQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(queueName)) {
  name: guid(account.id, queueName, principalId, roleId)
  scope: queue
  properties: {
    roleDefinitionId: role
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: purpose
  }
}
