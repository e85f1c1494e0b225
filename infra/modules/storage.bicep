@description('A storage account with Entra-only access: no shared keys, no public blobs, TLS 1.2.')
param location string
param name string
param containers array = []
param queues array = []

@description('Reachable only through private endpoints: public network access off.')
param privateOnly bool = false

// Event Grid writes undeliverable events into the data account with its own identity as a trusted service, which a
// disabled public endpoint would refuse; the firewall then denies every network but lets trusted services through.
// https://learn.microsoft.com/azure/event-grid/manage-event-delivery#dead-letter-with-managed-identity
@description('With privateOnly: keep the public endpoint for trusted Azure services only (firewall deny-all, bypass AzureServices).')
param trustedServicesOnly bool = false

@description('Days after which blobs under these prefixes are deleted; 0 keeps them.')
param deleteAfterDays int = 0
param deletePrefixes array = []

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    publicNetworkAccess: privateOnly && !trustedServicesOnly ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: privateOnly ? 'Deny' : 'Allow'
      bypass: privateOnly && trustedServicesOnly ? 'AzureServices' : 'None'
      ipRules: []
      virtualNetworkRules: []
    }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource blobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for c in containers: {
  parent: blobs
  name: c
  properties: {
    publicAccess: 'None'
  }
}]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource storageQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for q in queues: {
  parent: queueService
  name: q
}]

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = if (deleteAfterDays > 0 && !empty(deletePrefixes)) {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-old-results'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: deletePrefixes
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: deleteAfterDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
