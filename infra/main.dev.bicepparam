using 'main.bicep'

param environmentName = 'dev'
param serviceBusSku = 'Standard'
param cosmosMode = 'serverless'
param gpuProfile = 'Consumption-GPU-NC8as-T4'
param workerMaxReplicas = 2
param resultRetentionDays = 14
param logRetentionDays = 30
param functionMaxInstances = 40
param durableAlwaysReady = 1

// Set per deployment from the environment, so the one documented command serves every deployment (docs/deploy.md):
// the worker image once it is pushed, the slide events once the Functions app's code is published, and the API's
// Entra app registration.
param workerImage = readEnvironmentVariable('DEEPSLIDE_WORKER_IMAGE', '')
param viewerImage = readEnvironmentVariable('DEEPSLIDE_VIEWER_IMAGE', '')
param viewerLoginSecretUri = readEnvironmentVariable('DEEPSLIDE_VIEWER_LOGIN_SECRET_URI', '')
param slideEventsEnabled = bool(readEnvironmentVariable('DEEPSLIDE_SLIDE_EVENTS', 'true'))
param apiClientId = readEnvironmentVariable('DEEPSLIDE_API_CLIENT_ID', '')

// Cheap in dev: no data protection or lock (teardown stays one command), 1 GB of logs a day.
param dataProtectionDays = 0
param logDailyCapGb = 1
param monthlyBudget = int(readEnvironmentVariable('DEEPSLIDE_MONTHLY_BUDGET', '0'))
param alertEmails = empty(readEnvironmentVariable('DEEPSLIDE_ALERT_EMAILS', '')) ? [] : split(readEnvironmentVariable('DEEPSLIDE_ALERT_EMAILS', ''), ',')
