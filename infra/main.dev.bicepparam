using 'main.bicep'

param environmentName = 'dev'
param serviceBusSku = 'Standard'
param cosmosMode = 'serverless'
param gpuProfile = 'Consumption-GPU-NC8as-T4'
param workerMaxReplicas = 2
param resultRetentionDays = 14
param logRetentionDays = 30
param functionMaxInstances = 10
