@description('The Functions app on Flex Consumption (.NET isolated) with a system-assigned identity and identity-based connections only.')
param location string
param planName string
param appName string
param hostStorageName string
param dataStorageName string
param serviceBusNamespace string
param cosmosEndpoint string
param appInsightsName string
param deploymentContainer string
param modelPrefix string
param tilesPerRange int
param rangeDeadline string
param maxRedispatches int
param maximumInstanceCount int
param durableAlwaysReady int
param instanceMemoryMB int
@description('Client id of the API\'s Entra app registration; empty keeps the API closed (every call gets 401).')
param apiClientId string

@description('Client applications whose tokens the API accepts (the labs\' systems); the API\'s own registration and the Azure CLI are always accepted.')
param apiClientApplications array = []

@description('Subnet (delegated to Microsoft.App/environments) the app\'s outbound traffic goes through; empty: no virtual network.')
param subnetId string = ''

@description('Inbound through a private endpoint only, except Event Grid\'s deliveries of upload events.')
param privateInbound bool = false

@description('Log Analytics workspace for this resource\'s own logs and metrics; empty sends none.')
param workspaceId string = ''

// The Azure CLI's well-known client id: the runbook gets its tokens with `az account get-access-token`.
var azureCliClientId = '04b07795-8ddb-461a-bbee-02f9e1bf7b46'

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageName
}

resource dataStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: dataStorageName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(subnetId) ? null : subnetId
    // Event Grid delivers to public endpoints only, never into a private endpoint
    // (https://learn.microsoft.com/azure/event-grid/consume-private-endpoints), so the public endpoint stays on and
    // its access restrictions let in the AzureEventGrid service tag alone; the API and deployments (scm) go through
    // the private endpoint. https://learn.microsoft.com/azure/app-service/app-service-ip-restrictions#set-a-service-tag-based-rule
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      ipSecurityRestrictionsDefaultAction: privateInbound ? 'Deny' : 'Allow'
      ipSecurityRestrictions: privateInbound ? [
        {
          name: 'event-grid'
          description: 'Upload events (the blob trigger\'s webhook, which also checks the blob extension key)'
          action: 'Allow'
          tag: 'ServiceTag'
          ipAddress: 'AzureEventGrid'
          priority: 100
        }
      ] : []
      scmIpSecurityRestrictionsUseMain: false
      scmIpSecurityRestrictionsDefaultAction: privateInbound ? 'Deny' : 'Allow'
      appSettings: [
        // The Functions host and the durable task hub (host.json names the hub), by identity.
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__blobServiceUri'
          value: hostStorage.properties.primaryEndpoints.blob
        }
        {
          name: 'AzureWebJobsStorage__queueServiceUri'
          value: hostStorage.properties.primaryEndpoints.queue
        }
        {
          name: 'AzureWebJobsStorage__tableServiceUri'
          value: hostStorage.properties.primaryEndpoints.table
        }
        // The pipeline's data: slides, results, models and the completion queue (FunctionsSettings in the code).
        {
          name: 'PipelineStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'PipelineStorage__blobServiceUri'
          value: dataStorage.properties.primaryEndpoints.blob
        }
        {
          name: 'PipelineStorage__queueServiceUri'
          value: dataStorage.properties.primaryEndpoints.queue
        }
        {
          name: 'ServiceBus__fullyQualifiedNamespace'
          value: '${serviceBusNamespace}.servicebus.windows.net'
        }
        {
          name: 'Cosmos__accountEndpoint'
          value: cosmosEndpoint
        }
        {
          name: 'DeepSlide__ModelPrefix'
          value: modelPrefix
        }
        {
          name: 'DeepSlide__TilesPerRange'
          value: string(tilesPerRange)
        }
        {
          name: 'DeepSlide__RangeDeadline'
          value: rangeDeadline
        }
        {
          name: 'DeepSlide__MaxRedispatches'
          value: string(maxRedispatches)
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsights.properties.ConnectionString
        }
        {
          // The Functions host and the worker process ingest with the app's system-assigned identity.
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'Authorization=AAD'
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: durableAlwaysReady > 0 ? [
          {
            name: 'durable'
            instanceCount: durableAlwaysReady
          }
        ] : []
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }
}

// Deployments go through Entra-authenticated publishing only: no basic-auth (SCM or FTP) publishing credentials.
// https://learn.microsoft.com/azure/app-service/configure-basic-auth-disable
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(workspaceId)) {
  name: 'to-log-analytics'
  scope: app
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

// The HTTP API takes Entra ID tokens for its own audience only; the functions then check the caller's app role
// (Runs.Read or Runs.ReadWrite). Authentication also strips any X-MS-CLIENT-PRINCIPAL header a client sends, which is
// why it is always on, even before an app registration exists. Event Grid's webhook is excluded: it authenticates
// with the blob extension's key and sends no token.
// https://learn.microsoft.com/azure/app-service/configure-authentication-provider-aad
resource authentication 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: [
        '/runtime/webhooks/blobs'
      ]
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: !empty(apiClientId)
        registration: {
          clientId: apiClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${apiClientId}'
          ]
          // Without it any client application in the tenant passes authentication and only the role check stops it.
          // https://learn.microsoft.com/azure/app-service/configure-authentication-provider-aad#use-a-built-in-authorization-policy
          defaultAuthorizationPolicy: {
            allowedApplications: concat([
              apiClientId
              azureCliClientId
            ], apiClientApplications)
          }
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

output name string = app.name
output id string = app.id
output principalId string = app.identity.principalId
output defaultHostName string = app.properties.defaultHostName
