@description('The results viewer on Azure Container Apps: a CPU app on the Consumption profile of the pipeline\'s environment, scaled to zero, behind Container Apps authentication with Entra ID. The app itself admits only callers holding Runs.Read or Runs.ReadWrite.')
param location string
@description('The Container Apps environment the worker module creates.')
param environmentName string
param appName string
param identityId string
param identityClientId string
@description('The identity of the image pull; the app\'s code cannot use it (lifecycle None).')
param platformIdentityId string
param registryLoginServer string
param image string
param dataBlobEndpoint string
param cosmosEndpoint string
param appInsightsName string
param maxReplicas int

@description('The API\'s app registration (its app roles Runs.Read and Runs.ReadWrite); empty: authentication answers 401 to everyone.')
param apiClientId string

@description('Key Vault secret URI of the app registration\'s client secret, for browser sign-in; empty: bearer tokens only. Read by the viewer\'s identity, never put in the template.')
param loginSecretUri string = ''

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource environment 'Microsoft.App/managedEnvironments@2025-01-01' existing = {
  name: environmentName
}

var loginSecretName = 'microsoft-provider-authentication-secret'

resource viewer 'Microsoft.App/containerApps@2025-01-01' = {
  name: appName
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
      '${platformIdentityId}': {}
    }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      // In prod the environment is internal, so the viewer is reachable from the virtual network only.
      ingress: {
        external: true
        targetPort: 8080
        transport: 'auto'
        allowInsecure: false
      }
      registries: [
        {
          server: registryLoginServer
          identity: platformIdentityId
        }
      ]
      identitySettings: [
        {
          identity: platformIdentityId
          lifecycle: 'None'
        }
        {
          identity: identityId
          lifecycle: 'Main'
        }
      ]
      secrets: empty(loginSecretUri) ? [] : [
        {
          name: loginSecretName
          keyVaultUrl: loginSecretUri
          identity: identityId
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'viewer'
          image: image
          probes: [
            {
              type: 'Liveness'
              httpGet: {
                path: '/health'
                port: 8080
              }
              periodSeconds: 30
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/health'
                port: 8080
              }
              periodSeconds: 15
            }
          ]
          resources: {
            cpu: json('1')
            memory: '2Gi'
          }
          env: [
            {
              name: 'Viewer__StorageBlobServiceUri'
              value: dataBlobEndpoint
            }
            {
              name: 'Viewer__CosmosEndpoint'
              value: cosmosEndpoint
            }
            {
              name: 'Viewer__ManagedIdentityClientId'
              value: identityClientId
            }
            {
              name: 'Viewer__CacheFolder'
              value: '/tmp/deepslide-viewer'
            }
            {
              // 2 GiB: a 1 vCPU replica has 4 GiB of ephemeral storage; the image and scratch need the rest.
              name: 'Viewer__SlideCacheBytes'
              value: '2147483648'
            }
            {
              name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
              value: appInsights.properties.ConnectionString
            }
            {
              name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
              value: 'ClientId=${identityClientId};Authorization=AAD'
            }
          ]
        }
      ]
      scale: {
        minReplicas: 0
        maxReplicas: maxReplicas
        rules: [
          {
            name: 'http'
            http: {
              metadata: {
                concurrentRequests: '40'
              }
            }
          }
        ]
      }
    }
  }
}

// Container Apps authentication validates the Entra ID token (or signs the browser in), rejects callers without one,
// and hands the app the caller's claims in X-MS-CLIENT-PRINCIPAL, removing any such header a client sent; the app
// checks the app role. Only tokens issued to the API's own registration are accepted.
// https://learn.microsoft.com/azure/container-apps/authentication-entra
resource authentication 'Microsoft.App/containerApps/authConfigs@2025-01-01' = {
  parent: viewer
  name: 'current'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      unauthenticatedClientAction: empty(loginSecretUri) ? 'Return401' : 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: !empty(apiClientId)
        registration: {
          clientId: apiClientId
          clientSecretSettingName: empty(loginSecretUri) ? null : loginSecretName
          openIdIssuer: '${az.environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${apiClientId}'
          ]
          defaultAuthorizationPolicy: {
            allowedApplications: [
              apiClientId
            ]
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

output name string = viewer.name
output fqdn string = viewer.properties.configuration.ingress.fqdn
