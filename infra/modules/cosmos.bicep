@description('Cosmos DB for NoSQL with Entra-only access: the runs container, partitioned by slide.')
param location string
param name string

@allowed([
  'serverless'
  'provisioned'
])
param mode string
param provisionedThroughput int
@description('Reachable only through a private endpoint: public network access off.')
param privateOnly bool = false
param databaseName string
param containerName string
param partitionKeyPath string

@description('Log Analytics workspace for this resource\'s own logs and metrics; empty sends none.')
param workspaceId string = ''

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' = {
  name: name
  location: location
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    disableLocalAuth: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: privateOnly ? 'Disabled' : 'Enabled'
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
      }
    ]
    capabilities: mode == 'serverless' ? [
      {
        name: 'EnableServerless'
      }
    ] : []
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-05-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
    options: mode == 'serverless' ? {} : {
      throughput: provisionedThroughput
    }
  }
}

// The API reads a slide's runs (filter on slideId and id, newest first by createdUtc) and nothing else: index
// only those paths, so the per-aggregator scores and outputs cost nothing to write.
resource container 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-05-15' = {
  parent: database
  name: containerName
  properties: {
    resource: {
      id: containerName
      partitionKey: {
        paths: [
          partitionKeyPath
        ]
        kind: 'Hash'
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/slideId/?'
          }
          {
            path: '/createdUtc/?'
          }
          {
            path: '/status/?'
          }
        ]
        excludedPaths: [
          {
            path: '/*'
          }
        ]
      }
    }
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(workspaceId)) {
  name: 'to-log-analytics'
  scope: account
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

output accountName string = account.name
output id string = account.id
output endpoint string = account.properties.documentEndpoint
