using 'main.bicep'

param environmentName = 'prod'
param serviceBusSku = 'Premium'
param cosmosMode = 'provisioned'
param cosmosThroughput = 1000
param gpuProfile = 'Consumption-GPU-NC24-A100'
param workerMaxReplicas = 8
param workerBatchSize = 128
param resultRetentionDays = 365
param logRetentionDays = 90
param functionMaxInstances = 100
