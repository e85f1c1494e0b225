// DeepSlide on Azure: the whole event-driven pipeline in one resource group deployment.
// Names shared with the code (containers, queues, database, task hub) are in src/DeepSlide.Pipeline/PipelineNames.cs;
// tests/DeepSlide.Infra.Tests keeps the two in step.
targetScope = 'resourceGroup'

@description('Azure region of every resource.')
param location string = resourceGroup().location

@description('Short environment name (dev, prod): part of every resource name.')
@maxLength(6)
param environmentName string

@description('Prefix of resource names; with the environment it must keep storage account names within 24 characters.')
@maxLength(10)
param namePrefix string = 'deepslide'

@description('Service Bus tier: Standard, or Premium for isolation and predictable latency. privateNetworking always uses Premium, the only tier with private endpoints.')
@allowed([
  'Standard'
  'Premium'
])
param serviceBusSku string = 'Standard'

@description('Cosmos DB capacity: serverless (pay per request) or provisioned throughput.')
@allowed([
  'serverless'
  'provisioned'
])
param cosmosMode string = 'serverless'

@description('RU/s of the database when cosmosMode is provisioned.')
param cosmosThroughput int = 400

@description('Serverless GPU workload profile of the worker.')
@allowed([
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param gpuProfile string = 'Consumption-GPU-NC8as-T4'

@description('Most GPU worker replicas; the worker scales to zero when the range queue is empty.')
@minValue(1)
param workerMaxReplicas int = 4

// Empty means "no image yet": the worker app is not deployed on a first deployment, and a redeploy leaves the running
// one as it is. A placeholder default would be put back by every redeploy that forgot the image, and KEDA would then
// scale placeholders up on GPUs while the runs' ranges wait and fail.
@description('The worker image, for example myregistry.azurecr.io/deepslide-worker:1.0 (the parameter files read DEEPSLIDE_WORKER_IMAGE). Empty: the worker app is not deployed or changed.')
param workerImage string = ''

// Like the worker's: empty means the viewer app is not deployed or changed. It runs in the worker's environment.
@description('The viewer image, for example myregistry.azurecr.io/deepslide-viewer:1.0 (the parameter files read DEEPSLIDE_VIEWER_IMAGE). Empty: the viewer app is not deployed or changed; it also needs the worker image (their shared environment).')
param viewerImage string = ''

@description('Key Vault secret URI holding the API app registration\'s client secret, for the viewer\'s browser sign-in (DEEPSLIDE_VIEWER_LOGIN_SECRET_URI); the viewer\'s identity needs Key Vault Secrets User on it. Empty: the viewer takes bearer tokens only.')
param viewerLoginSecretUri string = ''

@description('Most viewer replicas; it scales to zero when nobody is looking.')
@minValue(1)
param viewerMaxReplicas int = 2

@description('Patches per inference batch on the GPU.')
param workerBatchSize int = 64

@description('Tiles per range message; slides are split into at most 500 ranges.')
param tilesPerRange int = 64

@description('How long a run waits without any range notice before re-dispatching the missing ranges.')
param rangeDeadline string = '00:10:00'

@description('Re-dispatches of missing ranges before a run fails.')
param maxRedispatches int = 2

@description('Deliveries of a range before it is dead-lettered.')
param maxDeliveryCount int = 5

// One value in minutes, written in each reader's own format: Service Bus takes ISO 8601 ('PT5M'), while the worker's
// TimeSpan is bound by .NET's configuration binder, which reads 'hh:mm:ss' and rejects ISO 8601 at start-up.
@description('Minutes a worker holds the lock on a range (Service Bus allows at most 5); the worker renews it at half this period.')
@minValue(1)
@maxValue(5)
param rangeLockMinutes int = 5

@description('Days after which run outputs (results/runs/...) are deleted; 0 keeps them.')
param resultRetentionDays int = 90

@description('Log Analytics retention in days.')
param logRetentionDays int = 30

@description('Most GB Log Analytics ingests a day; -1 is no cap.')
param logDailyCapGb int = 1

@description('Redundancy of the data account (slides, results, models).')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param dataRedundancy string = 'Standard_LRS'

@description('Days deleted or overwritten slides and results can be brought back (blob and container soft delete, versioning), with a CanNotDelete lock on the data account; 0 turns protection off (dev).')
@minValue(0)
@maxValue(365)
param dataProtectionDays int = 0

@description('Scan every upload to the data account for malware (Microsoft Defender for Storage, billed per GB scanned).')
param malwareScanning bool = false

@description('E-mail addresses the alerts go to (the action group).')
param alertEmails array = []

@description('Monthly budget for the resource group in the billing currency; 0 sets none. Alerts at 80% actual and 100% forecast go to the action group.')
@minValue(0)
param monthlyBudget int = 0

@description('First day of the budget\'s first month (yyyy-MM-01); Azure keeps it once the budget exists.')
param budgetStartDate string = '2026-12-01'

@description('The model bundle (prefix in the models container) that uploads are classified with.')
param modelPrefix string = 'default'

// Older Flex Consumption docs give 40 as the lowest allowed maximum, newer ones 1
// (https://learn.microsoft.com/azure/azure-functions/event-driven-scaling#limit-scale-out): 40 deploys under either.
@description('Most Functions instances (Flex Consumption).')
@minValue(40)
@maxValue(1000)
param functionMaxInstances int = 40

// Durable Functions on Flex Consumption: an always-ready instance for the "durable" group keeps orchestrations from
// waiting on a cold start at every step (https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#always-ready-instances).
@description('Always-ready instances for the durable group (orchestrator and activities); 0 scales them to zero too.')
@minValue(0)
param durableAlwaysReady int = 1

@description('Client id of the HTTP API\'s Entra app registration (docs/deploy.md creates it; the parameter files read DEEPSLIDE_API_CLIENT_ID). Empty: the API answers 401 to every call.')
param apiClientId string = ''

@description('Client application ids whose tokens the API accepts besides its own registration and the Azure CLI (the labs\' systems).')
param apiClientApplications array = []

// Slides and results are patient data: prod keeps every data path inside a virtual network (docs/deploy.md, "Private
// networking"). A Container Apps environment's network is fixed when it is created, so set this before the first
// deployment that has a worker image.
@description('Put storage, Service Bus (Premium), Cosmos DB and the Functions app behind private endpoints in a virtual network, with public network access off; the worker\'s environment joins the same network. Event Grid still reaches the Functions app, through an access rule for its service tag only.')
param privateNetworking bool = false

@description('Address space of the virtual network (privateNetworking): a /16 leaves room for its three subnets and growth.')
param vnetAddressPrefix string = '10.40.0.0/16'

@description('Create the Event Grid subscription. It needs the Functions blob extension key, which exists once the app code is published: set false on the very first deployment of a new environment.')
param slideEventsEnabled bool = true

// Names the code also uses (PipelineNames).
var slidesContainer = 'slides'
var resultsContainer = 'results'
var modelsContainer = 'models'
var rangeQueue = 'tile-ranges'
var completionQueue = 'range-completions'
var databaseName = 'deepslide'
var runsContainer = 'runs'
var slideTriggerFunction = 'SlideUploaded'
var deploymentContainer = 'app-package'
var eventsDeadLetterContainer = 'slide-events-deadletter'

var suffix = uniqueString(resourceGroup().id, environmentName)
var baseName = '${namePrefix}-${environmentName}'
var compactName = toLower(take('${namePrefix}${environmentName}${suffix}', 20))
var hostStorageName = '${compactName}fh'
var dataStorageName = '${compactName}dt'
var serviceBusName = 'sb-${baseName}-${suffix}'
var cosmosName = 'cosmos-${baseName}-${suffix}'
var functionAppName = 'func-${baseName}-${suffix}'
var serviceBusTier = privateNetworking ? 'Premium' : serviceBusSku

// One private DNS zone per private-link group, and one endpoint per service and group the pipeline uses: both
// storage accounts' blobs and queues, the host's tables (the durable task hub), Service Bus, Cosmos DB and the
// Functions app itself (the API and deployments). https://learn.microsoft.com/azure/private-link/private-endpoint-dns
var dnsZones = {
  blob: 'privatelink.blob.${environment().suffixes.storage}'
  queue: 'privatelink.queue.${environment().suffixes.storage}'
  table: 'privatelink.table.${environment().suffixes.storage}'
  namespace: 'privatelink.servicebus.windows.net'
  Sql: 'privatelink.documents.azure.com'
  sites: 'privatelink.azurewebsites.net'
}
var privateEndpoints = [
  {
    name: 'host-blob'
    target: resourceId('Microsoft.Storage/storageAccounts', hostStorageName)
    group: 'blob'
  }
  {
    name: 'host-queue'
    target: resourceId('Microsoft.Storage/storageAccounts', hostStorageName)
    group: 'queue'
  }
  {
    name: 'host-table'
    target: resourceId('Microsoft.Storage/storageAccounts', hostStorageName)
    group: 'table'
  }
  {
    name: 'data-blob'
    target: resourceId('Microsoft.Storage/storageAccounts', dataStorageName)
    group: 'blob'
  }
  {
    name: 'data-queue'
    target: resourceId('Microsoft.Storage/storageAccounts', dataStorageName)
    group: 'queue'
  }
  {
    name: 'service-bus'
    target: resourceId('Microsoft.ServiceBus/namespaces', serviceBusName)
    group: 'namespace'
  }
  {
    name: 'cosmos'
    target: resourceId('Microsoft.DocumentDB/databaseAccounts', cosmosName)
    group: 'Sql'
  }
  {
    name: 'functions'
    target: resourceId('Microsoft.Web/sites', functionAppName)
    group: 'sites'
  }
]

// Built-in role definition ids.
var roles = {
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  blobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  queueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  serviceBusDataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419'
  storageAccountContributor: '17d1049b-9a84-46fb-8f53-869881c3d3ab'
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    logAnalyticsName: 'log-${baseName}'
    appInsightsName: 'appi-${baseName}'
    retentionDays: logRetentionDays
    dailyCapGb: logDailyCapGb
  }
}

module network 'modules/network.bicep' = if (privateNetworking) {
  name: 'network'
  params: {
    location: location
    name: 'vnet-${baseName}'
    addressPrefix: vnetAddressPrefix
    dnsZones: map(items(dnsZones), z => z.value)
  }
}

module endpoints 'modules/private-endpoint.bicep' = [for e in privateEndpoints: if (privateNetworking) {
  name: 'pe-${e.name}'
  dependsOn: [
    hostStorage
    dataStorage
    serviceBus
    cosmos
    functions
  ]
  params: {
    location: location
    name: 'pe-${baseName}-${e.name}'
    subnetId: network!.outputs.endpointsSubnetId
    targetId: e.target
    groupId: e.group
    dnsZoneName: dnsZones[e.group]
  }
}]

module hostStorage 'modules/storage.bicep' = {
  name: 'host-storage'
  params: {
    location: location
    name: hostStorageName
    privateOnly: privateNetworking
    workspaceId: monitoring.outputs.workspaceId
    containers: [
      deploymentContainer
    ]
  }
}

module dataStorage 'modules/storage.bicep' = {
  name: 'data-storage'
  params: {
    location: location
    name: dataStorageName
    privateOnly: privateNetworking
    trustedServicesOnly: true
    skuName: dataRedundancy
    protectionDays: dataProtectionDays
    malwareScanning: malwareScanning
    workspaceId: monitoring.outputs.workspaceId
    containers: [
      slidesContainer
      resultsContainer
      modelsContainer
      eventsDeadLetterContainer
    ]
    queues: [
      completionQueue
      '${completionQueue}-poison'
    ]
    deleteAfterDays: resultRetentionDays
    deletePrefixes: [
      '${resultsContainer}/runs/'
    ]
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'service-bus'
  params: {
    location: location
    name: serviceBusName
    sku: serviceBusTier
    privateOnly: privateNetworking
    queueName: rangeQueue
    lockDuration: 'PT${rangeLockMinutes}M'
    maxDeliveryCount: maxDeliveryCount
    duplicateDetectionWindow: 'PT1H'
    workspaceId: monitoring.outputs.workspaceId
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  params: {
    location: location
    name: cosmosName
    privateOnly: privateNetworking
    mode: cosmosMode
    provisionedThroughput: cosmosThroughput
    databaseName: databaseName
    containerName: runsContainer
    partitionKeyPath: '/slideId'
    workspaceId: monitoring.outputs.workspaceId
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  params: {
    location: location
    name: 'cr${compactName}'
    workspaceId: monitoring.outputs.workspaceId
  }
}

module functions 'modules/functions.bicep' = {
  name: 'functions'
  params: {
    location: location
    planName: 'plan-${baseName}'
    appName: functionAppName
    subnetId: network.?outputs.functionsSubnetId ?? ''
    privateInbound: privateNetworking
    hostStorageName: hostStorage.outputs.name
    dataStorageName: dataStorage.outputs.name
    serviceBusNamespace: serviceBus.outputs.namespaceName
    cosmosEndpoint: cosmos.outputs.endpoint
    appInsightsName: monitoring.outputs.appInsightsName
    deploymentContainer: deploymentContainer
    modelPrefix: modelPrefix
    tilesPerRange: tilesPerRange
    rangeDeadline: rangeDeadline
    maxRedispatches: maxRedispatches
    maximumInstanceCount: functionMaxInstances
    durableAlwaysReady: durableAlwaysReady
    apiClientId: apiClientId
    apiClientApplications: apiClientApplications
    instanceMemoryMB: 2048
    workspaceId: monitoring.outputs.workspaceId
  }
}

// The worker's identity exists before the app, so its registry and queue roles are in place when the first revision pulls.
resource workerIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${baseName}-worker'
  location: location
}

// The platform's own identity for the worker app: the KEDA scaler (which needs Service Bus Data Owner to read the
// queue's length) and the image pull. Its Container Apps lifecycle is None, so code in the container can't get a token
// for it, and the worker's code keeps Data Receiver only.
resource platformIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${baseName}-worker-platform'
  location: location
}

module worker 'modules/worker.bicep' = if (!empty(workerImage)) {
  name: 'worker'
  dependsOn: [
    workerPull
    workerRangeScaler
  ]
  params: {
    location: location
    environmentName: 'cae-${baseName}'
    appName: 'ca-${baseName}-worker'
    workspaceId: monitoring.outputs.workspaceId
    identityId: workerIdentity.id
    identityClientId: workerIdentity.properties.clientId
    platformIdentityId: platformIdentity.id
    registryLoginServer: registry.outputs.loginServer
    image: workerImage
    gpuProfile: gpuProfile
    maxReplicas: workerMaxReplicas
    dataBlobEndpoint: dataStorage.outputs.blobEndpoint
    dataQueueEndpoint: dataStorage.outputs.queueEndpoint
    serviceBusNamespace: serviceBus.outputs.namespaceName
    rangeQueue: rangeQueue
    lockDuration: '00:${padLeft(string(rangeLockMinutes), 2, '0')}:00'
    maxDeliveryCount: maxDeliveryCount
    batchSize: workerBatchSize
    appInsightsName: monitoring.outputs.appInsightsName
    infrastructureSubnetId: network.?outputs.workerSubnetId ?? ''
  }
}

resource viewerIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${baseName}-viewer'
  location: location
}

module viewer 'modules/viewer.bicep' = if (!empty(viewerImage) && !empty(workerImage)) {
  name: 'viewer'
  dependsOn: [
    worker
    workerPull
  ]
  params: {
    location: location
    environmentName: 'cae-${baseName}'
    appName: 'ca-${baseName}-viewer'
    identityId: viewerIdentity.id
    identityClientId: viewerIdentity.properties.clientId
    platformIdentityId: platformIdentity.id
    registryLoginServer: registry.outputs.loginServer
    image: viewerImage
    dataBlobEndpoint: dataStorage.outputs.blobEndpoint
    cosmosEndpoint: cosmos.outputs.endpoint
    appInsightsName: monitoring.outputs.appInsightsName
    maxReplicas: viewerMaxReplicas
    apiClientId: apiClientId
    loginSecretUri: viewerLoginSecretUri
  }
}

module slideEvents 'modules/eventgrid.bicep' = if (slideEventsEnabled) {
  name: 'slide-events'
  params: {
    location: location
    topicName: 'evgt-${baseName}-slides'
    storageAccountName: dataStorage.outputs.name
    functionAppName: functions.outputs.name
    slidesContainer: slidesContainer
    triggerFunctionName: slideTriggerFunction
    deadLetterContainer: eventsDeadLetterContainer
    workspaceId: monitoring.outputs.workspaceId
  }
}

// Event Grid drops an event for good after a 401, 403 or 404 from the webhook (a rotated key, an app being redeployed)
// unless the subscription dead-letters; it writes there with the system topic's own identity.
// https://learn.microsoft.com/azure/event-grid/delivery-and-retry#failure-codes-and-dead-lettering
module slideEventsDeadLetter 'modules/storage-role.bicep' = if (slideEventsEnabled) {
  name: 'role-events-deadletter'
  params: {
    accountName: dataStorage.outputs.name
    containerName: eventsDeadLetterContainer
    roleId: roles.blobDataContributor
    principalId: slideEvents!.outputs.principalId
    purpose: 'slide events: Storage Blob Data Contributor on slide-events-deadletter (undeliverable upload events are kept, not dropped)'
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    baseName: baseName
    emails: alertEmails
    workspaceId: monitoring.outputs.workspaceId
    serviceBusId: serviceBus.outputs.id
    rangeQueue: rangeQueue
    cosmosId: cosmos.outputs.id
    eventTopicId: slideEvents.?outputs.topicId ?? ''
    workerAppId: worker.?outputs.id ?? ''
    workerMaxReplicas: workerMaxReplicas
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  params: {
    location: location
    baseName: baseName
    workspaceId: monitoring.outputs.workspaceId
  }
}

// https://learn.microsoft.com/azure/cost-management-billing/costs/quick-create-budget-bicep
resource budget 'Microsoft.Consumption/budgets@2023-11-01' = if (monthlyBudget > 0) {
  name: 'budget-${baseName}'
  properties: {
    category: 'Cost'
    amount: monthlyBudget
    timeGrain: 'Monthly'
    timePeriod: {
      startDate: budgetStartDate
    }
    notifications: {
      actual80: {
        enabled: true
        operator: 'GreaterThanOrEqualTo'
        threshold: 80
        thresholdType: 'Actual'
        contactEmails: alertEmails
        contactGroups: [
          alerts.outputs.actionGroupId
        ]
      }
      forecast100: {
        enabled: true
        operator: 'GreaterThanOrEqualTo'
        threshold: 100
        thresholdType: 'Forecasted'
        contactEmails: alertEmails
        contactGroups: [
          alerts.outputs.actionGroupId
        ]
      }
    }
  }
}

// Functions: least privilege for the host, the orchestration and the HTTP API.
// Telemetry is ingested with Entra tokens only (Application Insights has local auth off).
module functionsTelemetry 'modules/appinsights-role.bicep' = {
  name: 'role-func-telemetry'
  params: {
    appInsightsName: monitoring.outputs.appInsightsName
    principalId: functions.outputs.principalId
    purpose: 'functions: Monitoring Metrics Publisher on Application Insights (Entra-authenticated telemetry)'
  }
}

module workerTelemetry 'modules/appinsights-role.bicep' = {
  name: 'role-worker-telemetry'
  params: {
    appInsightsName: monitoring.outputs.appInsightsName
    principalId: workerIdentity.properties.principalId
    purpose: 'worker: Monitoring Metrics Publisher on Application Insights (Entra-authenticated telemetry)'
  }
}

module functionsHostBlobs 'modules/storage-role.bicep' = {
  name: 'role-func-host-blobs'
  params: {
    accountName: hostStorage.outputs.name
    roleId: roles.blobDataOwner
    principalId: functions.outputs.principalId
    purpose: 'functions: Storage Blob Data Owner on the host storage (host leases, durable task hub blobs, the deployment package)'
  }
}

module functionsHostQueues 'modules/storage-role.bicep' = {
  name: 'role-func-host-queues'
  params: {
    accountName: hostStorage.outputs.name
    roleId: roles.queueDataContributor
    principalId: functions.outputs.principalId
    purpose: 'functions: Storage Queue Data Contributor on the host storage (durable task hub control and work-item queues)'
  }
}

module functionsHostTables 'modules/storage-role.bicep' = {
  name: 'role-func-host-tables'
  params: {
    accountName: hostStorage.outputs.name
    roleId: roles.tableDataContributor
    principalId: functions.outputs.principalId
    purpose: 'functions: Storage Table Data Contributor on the host storage (durable task hub history and instances)'
  }
}

// The blob trigger's bookkeeping on the host storage needs Storage Account Contributor besides the data roles.
// https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity
module functionsHostAccount 'modules/storage-role.bicep' = {
  name: 'role-func-host-account'
  params: {
    accountName: hostStorage.outputs.name
    roleId: roles.storageAccountContributor
    principalId: functions.outputs.principalId
    purpose: 'functions: Storage Account Contributor on the host storage (the blob trigger\'s receipts and queues)'
  }
}

module functionsSlides 'modules/storage-role.bicep' = {
  name: 'role-func-slides'
  params: {
    accountName: dataStorage.outputs.name
    containerName: slidesContainer
    roleId: roles.blobDataOwner
    principalId: functions.outputs.principalId
    purpose: 'functions: Storage Blob Data Owner on slides (the blob trigger needs it; re-runs read slide versions)'
  }
}

module functionsModels 'modules/storage-role.bicep' = {
  name: 'role-func-models'
  params: {
    accountName: dataStorage.outputs.name
    containerName: modelsContainer
    roleId: roles.blobDataReader
    principalId: functions.outputs.principalId
    purpose: 'functions: Storage Blob Data Reader on models (the aggregate step reads the manifest)'
  }
}

module functionsResults 'modules/storage-role.bicep' = {
  name: 'role-func-results'
  params: {
    accountName: dataStorage.outputs.name
    containerName: resultsContainer
    roleId: roles.blobDataContributor
    principalId: functions.outputs.principalId
    purpose: 'functions: Storage Blob Data Contributor on results (the aggregate step reads ranges, writes patches and result)'
  }
}

module functionsCompletions 'modules/storage-role.bicep' = {
  name: 'role-func-completions'
  params: {
    accountName: dataStorage.outputs.name
    roleId: roles.queueDataContributor
    principalId: functions.outputs.principalId
    purpose: 'functions: Storage Queue Data Contributor on the data storage (the completion queue trigger and its poison queue)'
  }
}

module functionsRanges 'modules/servicebus-role.bicep' = {
  name: 'role-func-ranges'
  params: {
    namespaceName: serviceBus.outputs.namespaceName
    queueName: rangeQueue
    roleId: roles.serviceBusDataSender
    principalId: functions.outputs.principalId
    purpose: 'functions: Azure Service Bus Data Sender on the range queue (dispatch)'
  }
}

module functionsCosmos 'modules/cosmos-role.bicep' = {
  name: 'role-func-cosmos'
  params: {
    accountName: cosmos.outputs.accountName
    principalId: functions.outputs.principalId
  }
}

// Worker: reads slides and models, writes range outputs and pictures, takes ranges, sends notices, pulls its image.
module workerSlides 'modules/storage-role.bicep' = {
  name: 'role-worker-slides'
  params: {
    accountName: dataStorage.outputs.name
    containerName: slidesContainer
    roleId: roles.blobDataReader
    principalId: workerIdentity.properties.principalId
    purpose: 'worker: Storage Blob Data Reader on slides (downloads the slide version it is sent)'
  }
}

module workerModels 'modules/storage-role.bicep' = {
  name: 'role-worker-models'
  params: {
    accountName: dataStorage.outputs.name
    containerName: modelsContainer
    roleId: roles.blobDataReader
    principalId: workerIdentity.properties.principalId
    purpose: 'worker: Storage Blob Data Reader on models (downloads model bundles)'
  }
}

module workerResults 'modules/storage-role.bicep' = {
  name: 'role-worker-results'
  params: {
    accountName: dataStorage.outputs.name
    containerName: resultsContainer
    roleId: roles.blobDataContributor
    principalId: workerIdentity.properties.principalId
    purpose: 'worker: Storage Blob Data Contributor on results (writes plans, range Parquet and pictures)'
  }
}

module workerNotices 'modules/storage-role.bicep' = {
  name: 'role-worker-notices'
  params: {
    accountName: dataStorage.outputs.name
    queueName: completionQueue
    roleId: roles.queueDataMessageSender
    principalId: workerIdentity.properties.principalId
    purpose: 'worker: Storage Queue Data Message Sender on the completion queue (range notices)'
  }
}

module workerRanges 'modules/servicebus-role.bicep' = {
  name: 'role-worker-ranges'
  params: {
    namespaceName: serviceBus.outputs.namespaceName
    queueName: rangeQueue
    roleId: roles.serviceBusDataReceiver
    principalId: workerIdentity.properties.principalId
    purpose: 'worker: Azure Service Bus Data Receiver on the range queue (peek-lock, complete, dead-letter)'
  }
}

module workerRangeScaler 'modules/servicebus-role.bicep' = {
  name: 'role-worker-scaler'
  params: {
    namespaceName: serviceBus.outputs.namespaceName
    queueName: rangeQueue
    roleId: roles.serviceBusDataOwner
    principalId: platformIdentity.properties.principalId
    purpose: 'worker platform: Azure Service Bus Data Owner on the range queue only (the KEDA scaler reads the queue length, a manage operation)'
  }
}

// Viewer: reads slides and results (never models, never writes), reads run documents.
module viewerSlides 'modules/storage-role.bicep' = {
  name: 'role-viewer-slides'
  params: {
    accountName: dataStorage.outputs.name
    containerName: slidesContainer
    roleId: roles.blobDataReader
    principalId: viewerIdentity.properties.principalId
    purpose: 'viewer: Storage Blob Data Reader on slides (ranged reads of the tiles it shows)'
  }
}

module viewerResults 'modules/storage-role.bicep' = {
  name: 'role-viewer-results'
  params: {
    accountName: dataStorage.outputs.name
    containerName: resultsContainer
    roleId: roles.blobDataReader
    principalId: viewerIdentity.properties.principalId
    purpose: 'viewer: Storage Blob Data Reader on results (patch Parquet, result JSON, plan, GeoJSON)'
  }
}

module viewerCosmos 'modules/cosmos-role.bicep' = {
  name: 'role-viewer-cosmos'
  params: {
    accountName: cosmos.outputs.accountName
    principalId: viewerIdentity.properties.principalId
    readOnly: true
  }
}

module viewerTelemetry 'modules/appinsights-role.bicep' = {
  name: 'role-viewer-telemetry'
  params: {
    appInsightsName: monitoring.outputs.appInsightsName
    principalId: viewerIdentity.properties.principalId
    purpose: 'viewer: Monitoring Metrics Publisher on Application Insights (Entra-authenticated telemetry)'
  }
}

module workerPull 'modules/registry-role.bicep' = {
  name: 'role-worker-pull'
  params: {
    registryName: registry.outputs.name
    principalId: platformIdentity.properties.principalId
    purpose: 'worker platform: AcrPull on the registry (pulls the worker image by identity)'
  }
}

output functionAppName string = functions.outputs.name
output functionAppUrl string = 'https://${functions.outputs.defaultHostName}'
output dataStorageAccount string = dataStorage.outputs.name
output dataBlobEndpoint string = dataStorage.outputs.blobEndpoint
output hostStorageAccount string = hostStorage.outputs.name
output serviceBusNamespace string = serviceBus.outputs.fullyQualifiedNamespace
output cosmosEndpoint string = cosmos.outputs.endpoint
output registryLoginServer string = registry.outputs.loginServer
output workerAppName string = worker.?outputs.name ?? ''
output containerAppsEnvironment string = worker.?outputs.environmentName ?? ''
output appInsightsName string = monitoring.outputs.appInsightsName
output viewerUrl string = empty(viewer.?outputs.fqdn ?? '') ? '' : 'https://${viewer.?outputs.fqdn}'
output virtualNetwork string = network.?outputs.vnetName ?? ''
