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

@description('Redundancy: Standard_LRS (dev), Standard_ZRS or Standard_GZRS (a lab\'s slides and results in prod).')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_LRS'

@description('Protect the data: blob and container soft delete for this many days, blob versioning (earlier versions kept as long), and a CanNotDelete lock on the account; 0 turns all of it off.')
param protectionDays int = 0

@description('Microsoft Defender for Storage with malware scanning of every upload (billed per GB scanned, capped monthly).')
param malwareScanning bool = false

@description('Log Analytics workspace for the blob and queue services\' reads, writes and deletes; empty sends none.')
param workspaceId string = ''

@description('Days after which blobs under these prefixes are deleted; 0 keeps them.')
param deleteAfterDays int = 0
param deletePrefixes array = []

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  kind: 'StorageV2'
  sku: {
    name: skuName
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
  properties: protectionDays > 0 ? {
    deleteRetentionPolicy: {
      enabled: true
      days: protectionDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: protectionDays
    }
    isVersioningEnabled: true
  } : {}
}

// Slides and results are patient data: who read, wrote or deleted which blob goes to Log Analytics.
resource blobLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(workspaceId)) {
  name: 'to-log-analytics'
  scope: blobs
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
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

// https://learn.microsoft.com/azure/defender-for-cloud/defender-for-storage-infrastructure-as-code-enablement
resource defender 'Microsoft.Security/defenderForStorageSettings@2022-12-01-preview' = if (malwareScanning) {
  name: 'current'
  scope: account
  properties: {
    isEnabled: true
    overrideSubscriptionLevelSettings: true
    malwareScanning: {
      onUpload: {
        isEnabled: true
        capGBPerMonth: 5000
      }
    }
    sensitiveDataDiscovery: {
      isEnabled: false
    }
  }
}

resource lock 'Microsoft.Authorization/locks@2020-05-01' = if (protectionDays > 0) {
  name: 'keep-${name}'
  scope: account
  properties: {
    level: 'CanNotDelete'
    notes: 'A lab\'s slides and results: remove this lock on purpose before deleting the account (docs/deploy.md, "Tearing down").'
  }
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

resource queueLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(workspaceId)) {
  name: 'to-log-analytics'
  scope: queueService
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

resource storageQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for q in queues: {
  parent: queueService
  name: q
}]

var retentionRules = deleteAfterDays > 0 && !empty(deletePrefixes) ? [
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
] : []

// Versions are the undo of an overwrite or a delete; they go after the protection window, so they do not pile up.
var versionRules = protectionDays > 0 ? [
  {
    name: 'expire-earlier-versions'
    enabled: true
    type: 'Lifecycle'
    definition: {
      filters: {
        blobTypes: [
          'blockBlob'
        ]
      }
      actions: {
        version: {
          delete: {
            daysAfterCreationGreaterThan: protectionDays
          }
        }
      }
    }
  }
] : []

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = if (!empty(concat(retentionRules, versionRules))) {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: concat(retentionRules, versionRules)
    }
  }
}

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
