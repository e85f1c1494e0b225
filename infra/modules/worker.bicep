@description('The GPU inference worker on Azure Container Apps: a serverless GPU workload profile, scaled 0-N by the tile-range queue.')
param location string
param environmentName string
param appName string
param workspaceId string
param identityId string
param identityClientId string
@description('The identity of the scaler and the image pull; the app\'s code cannot use it (lifecycle None).')
param platformIdentityId string
param registryLoginServer string
param image string

@allowed([
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param gpuProfile string
param maxReplicas int
param dataBlobEndpoint string
param dataQueueEndpoint string
param serviceBusNamespace string
param rangeQueue string
@description('The range lock as a .NET TimeSpan (hh:mm:ss), the format the worker\'s configuration binder reads.')
param lockDuration string
param maxDeliveryCount int
param batchSize int
param appInsightsName string

@description('Subnet (delegated to Microsoft.App/environments) the environment is injected into; empty: the platform\'s network.')
param infrastructureSubnetId string = ''

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

var gpuResources = gpuProfile == 'Consumption-GPU-NC8as-T4' ? {
  cpu: json('8')
  memory: '56Gi'
} : {
  cpu: json('24')
  memory: '220Gi'
}

resource environment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: environmentName
  location: location
  properties: {
    // The worker has no ingress, so the environment is internal: it reaches Service Bus, storage and Cosmos through
    // the private endpoints in its virtual network.
    vnetConfiguration: empty(infrastructureSubnetId) ? null : {
      infrastructureSubnetId: infrastructureSubnetId
      internal: true
    }
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
      {
        name: 'gpu'
        workloadProfileType: gpuProfile
      }
    ]
  }
}

// Logs go to the workspace through diagnostic settings, so no workspace key is handed to the environment.
resource environmentLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: environment
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

resource worker 'Microsoft.App/containerApps@2025-01-01' = {
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
    workloadProfileName: 'gpu'
    configuration: {
      activeRevisionsMode: 'Single'
      registries: [
        {
          server: registryLoginServer
          identity: platformIdentityId
        }
      ]
      // https://learn.microsoft.com/azure/container-apps/managed-identity#control-managed-identity-availability
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
    }
    template: {
      // A scale-in lets the range in hand finish (or be given back) instead of cutting it off after 30 s; each cut
      // counts toward the queue's delivery limit.
      terminationGracePeriodSeconds: 300
      containers: [
        {
          name: 'worker'
          image: image
          // /healthz answers 503 once the range loop has been silent for two lock durations: the replica is
          // restarted and its range returns to the queue. Model loading on start can take a while, hence the delay.
          probes: [
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: 8080
              }
              initialDelaySeconds: 30
              periodSeconds: 30
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/healthz'
                port: 8080
              }
              initialDelaySeconds: 10
              periodSeconds: 15
            }
          ]
          resources: gpuResources
          env: [
            {
              name: 'Worker__StorageBlobServiceUri'
              value: dataBlobEndpoint
            }
            {
              name: 'Worker__StorageQueueServiceUri'
              value: dataQueueEndpoint
            }
            {
              name: 'Worker__ServiceBusNamespace'
              value: '${serviceBusNamespace}.servicebus.windows.net'
            }
            {
              name: 'Worker__ManagedIdentityClientId'
              value: identityClientId
            }
            {
              name: 'Worker__RangeQueue'
              value: rangeQueue
            }
            {
              name: 'Worker__LockDuration'
              value: lockDuration
            }
            {
              name: 'Worker__MaxDeliveryCount'
              value: string(maxDeliveryCount)
            }
            {
              name: 'Worker__BatchSize'
              value: string(batchSize)
            }
            {
              name: 'Worker__Device'
              value: 'Cuda'
            }
            {
              name: 'Worker__HealthPort'
              value: '8080'
            }
            {
              // A replica with more than one vCPU has 8 GiB of ephemeral storage in all, image layers and scratch
              // included (https://learn.microsoft.com/azure/container-apps/storage-mounts#ephemeral-storage); the
              // worker's 20 GiB default would fill it. 5 GiB leaves room for models and range outputs.
              name: 'Worker__SlideCacheBytes'
              value: '5368709120' // 5 GiB
            }
            {
              name: 'AZURE_CLIENT_ID'
              value: identityClientId
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
            name: 'tile-ranges'
            custom: {
              type: 'azure-servicebus'
              identity: platformIdentityId
              metadata: {
                namespace: serviceBusNamespace
                queueName: rangeQueue
                messageCount: '8'
              }
            }
          }
        ]
      }
    }
  }
}

output name string = worker.name
output id string = worker.id
output environmentName string = environment.name
