// The app's storage account: the Functions host's state (AzureWebJobsStorage: keys, timer
// schedule, locks, diagnostic events), the deployment package's container, and the job
// registry's table. Shared-key access is off: everything reaches it with the app's identity
// (rbac.bicep grants the roles). With vnetEnabled it is reachable only through private endpoints.
param name string
param location string
param tags object
param skuName string
param vnetEnabled bool
param privateEndpointSubnetId string
param vnetId string

// The registry's table (JOB_DEFINITIONS_TABLE); the app's default name (shared/constants.py).
var jobDefinitionsTable = 'JobDefinitions'
var deploymentContainerName = 'app-package'
// The services the app uses: blob (the host, the package) and table (the registry, the host's
// diagnostic events). No queue: the app has no queue or blob trigger and no Durable Functions.
var privateServices = ['blob', 'table']
// One private endpoint (and DNS zone) per service with vnetEnabled; none without.
var privateEndpointServices = vnetEnabled ? privateServices : []

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35:Deny with vnetEnabled; without a VNet a Flex Consumption app has no fixed outbound address to allow, so Entra ID (shared keys off) is the only way in
  // checkov:skip=CKV_AZURE_206:the SKU is the storageSkuName parameter, Standard_ZRS unless a region without zone-redundant storage needs Standard_LRS; checkov does not resolve parameters
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: skuName }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    dnsEndpointType: 'Standard'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    // Without a VNet, a Flex Consumption app has no fixed outbound address to allow: the account
    // stays reachable, with Entra ID the only way in (shared keys and SAS are off).
    networkAcls: vnetEnabled ? { defaultAction: 'Deny', bypass: 'None' } : { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

resource blobServices 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: { enabled: true, days: 7 }
    containerDeleteRetentionPolicy: { enabled: true, days: 7 }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobServices
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

resource tableServices 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource jobDefinitions 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableServices
  name: jobDefinitionsTable
}

resource privateDnsZones 'Microsoft.Network/privateDnsZones@2020-06-01' = [for service in privateEndpointServices: {
  name: 'privatelink.${service}.${environment().suffixes.storage}'
  location: 'global'
  tags: tags
}]

resource privateDnsZoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [for i in range(0, length(privateEndpointServices)): {
  parent: privateDnsZones[i]
  name: '${name}-${privateEndpointServices[i]}-link'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: { id: vnetId }
  }
}]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2024-01-01' = [for i in range(0, length(privateEndpointServices)): {
  name: 'pe-${name}-${privateEndpointServices[i]}'
  location: location
  tags: tags
  properties: {
    subnet: { id: privateEndpointSubnetId }
    privateLinkServiceConnections: [
      {
        name: '${privateEndpointServices[i]}-connection'
        properties: {
          privateLinkServiceId: storage.id
          groupIds: [privateEndpointServices[i]]
        }
      }
    ]
  }
}]

resource privateDnsZoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-01-01' = [for i in range(0, length(privateEndpointServices)): {
  parent: privateEndpoints[i]
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: privateEndpointServices[i]
        properties: { privateDnsZoneId: privateDnsZones[i].id }
      }
    ]
  }
}]

output name string = storage.name
output deploymentContainerName string = deploymentContainer.name
output jobDefinitionsTable string = jobDefinitions.name
