@description('A built-in Cosmos DB data-plane SQL role for one identity, on the account: Data Contributor unless Data Reader is asked for.')
param accountName string
param principalId string
param readOnly bool = false

var dataContributor = readOnly ? '00000000-0000-0000-0000-000000000001' : '00000000-0000-0000-0000-000000000002'

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' existing = {
  name: accountName
}

resource assignment 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = {
  parent: account
  name: guid(account.id, principalId, dataContributor)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributor}'
    principalId: principalId
    scope: account.id
  }
}
