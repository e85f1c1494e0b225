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
param durableAlwaysReady = 1

// Patient data stays inside the virtual network: private endpoints for storage, Service Bus, Cosmos DB and the
// Functions app, public network access off (docs/deploy.md, "Private networking").
param privateNetworking = true

// Set per deployment from the environment, so the one documented command serves every deployment (docs/deploy.md):
// the worker image once it is pushed, the slide events once the Functions app's code is published, and the API's
// Entra app registration.
param workerImage = readEnvironmentVariable('DEEPSLIDE_WORKER_IMAGE', '')
param viewerImage = readEnvironmentVariable('DEEPSLIDE_VIEWER_IMAGE', '')
param viewerLoginSecretUri = readEnvironmentVariable('DEEPSLIDE_VIEWER_LOGIN_SECRET_URI', '')
param slideEventsEnabled = bool(readEnvironmentVariable('DEEPSLIDE_SLIDE_EVENTS', 'true'))
param apiClientId = readEnvironmentVariable('DEEPSLIDE_API_CLIENT_ID', '')

// A lab's slides and results: zone-redundant, recoverable for 30 days after a delete or overwrite, locked against
// deletion; logs capped at 10 GB a day; a budget that warns the action group.
param dataRedundancy = 'Standard_ZRS'
param dataProtectionDays = 30
param logDailyCapGb = 10
param monthlyBudget = int(readEnvironmentVariable('DEEPSLIDE_MONTHLY_BUDGET', '0'))
param alertEmails = empty(readEnvironmentVariable('DEEPSLIDE_ALERT_EMAILS', '')) ? [] : split(readEnvironmentVariable('DEEPSLIDE_ALERT_EMAILS', ''), ',')
