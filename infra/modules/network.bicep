@description('The private network of a privateNetworking deployment: a virtual network with a subnet for the Functions app\'s outbound traffic, one for the worker\'s Container Apps environment and one for private endpoints, and the private DNS zones that make the services\' own names resolve to those endpoints inside it.')
param location string
param name string
param addressPrefix string

@description('Private DNS zone names, one per private endpoint group in use.')
param dnsZones array

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        // Flex Consumption integrates through a subnet delegated to Microsoft.App/environments, not to
        // Microsoft.Web/serverFarms as the older plans do (https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to#enable-virtual-network-integration).
        name: 'functions'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 0)
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
          // Telemetry (Application Insights) and the registry are reached over the internet; a NAT gateway in
          // front of these subnets is the way to a fixed outbound address.
          defaultOutboundAccess: true
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 1)
          privateEndpointNetworkPolicies: 'Disabled'
          defaultOutboundAccess: false
        }
      }
      {
        // A workload-profiles environment needs at least a /27 delegated to Microsoft.App/environments
        // (https://learn.microsoft.com/azure/container-apps/custom-virtual-networks#subnet).
        name: 'worker'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 23, 1)
          delegations: [
            {
              name: 'container-apps'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
          defaultOutboundAccess: true
        }
      }
    ]
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [for zone in dnsZones: {
  name: zone
  location: 'global'
}]

resource links 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for (zone, i) in dnsZones: {
  parent: zones[i]
  name: name
  location: 'global'
  properties: {
    virtualNetwork: {
      id: vnet.id
    }
    registrationEnabled: false
  }
}]

output functionsSubnetId string = vnet.properties.subnets[0].id
output endpointsSubnetId string = vnet.properties.subnets[1].id
output workerSubnetId string = vnet.properties.subnets[2].id
output vnetName string = vnet.name
