#!/usr/bin/env bash
# Opt-in end-to-end test with the unmodified Azure CLI (not part of scripts/test.sh: the CLI is a
# ~730 MB install). Installs azure-cli in a throwaway venv, starts galleon, registers it as a
# cloud, logs in with the admin service principal, runs the seed's `az sig` commands unchanged,
# creates VMs from the version with `az vm create`, and shares the gallery with a reader, inside
# a loopback-only network namespace when available.
#
# Usage: scripts/az-e2e.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/az-venv.sh

work=$(mktemp -d)
cat > "$work/run.sh" <<'INNER'
set -euo pipefail
work=$1; bin=$2; az=$3
. "$4/az-env.sh"

# A source for the seed's --managed-image: a disk from a VHD, captured as a managed image.
step group create -n myResourceGroup -l westcentralus -o none
step disk create -g myResourceGroup -n osdisk --source "file://$work/data/imports/os.vhd" --os-type Linux --hyper-v-generation V2 -o none
step image create -g myResourceGroup -n myImage --source "$(step disk show -g myResourceGroup -n osdisk --query id -o tsv)" --os-type Linux --hyper-v-generation V2 -o none

# The seed's commands, unchanged.
step group create -n myGalleryRG -l westcentralus -o none
step sig create --resource-group myGalleryRG --gallery-name myGallery -o none
step sig image-definition create --resource-group myGalleryRG --gallery-name myGallery \
  --gallery-image-definition myImageDefinition --publisher myPublisher --offer myOffer --sku mySKU \
  --os-type Linux --os-state generalized -o none
step sig image-version create --resource-group myGalleryRG --gallery-name myGallery \
  --gallery-image-definition myImageDefinition --gallery-image-version 1.0.0 \
  --target-regions "westcentralus" "southcentralus=1" "eastus=1=standard_zrs" --replica-count 2 \
  --managed-image "/subscriptions/$sub/resourceGroups/myResourceGroup/providers/Microsoft.Compute/images/myImage" -o none
state=$(step sig image-version show -g myGalleryRG -r myGallery -i myImageDefinition -e 1.0.0 --expand ReplicationStatus --query replicationStatus.aggregatedState -o tsv)
[ "$state" = Completed ] || { echo "replication: $state" >&2; exit 1; }
step sig image-version list -g myGalleryRG -r myGallery -i myImageDefinition --query "[].name" -o tsv
step sig image-version update -g myGalleryRG -r myGallery -i myImageDefinition -e 1.0.0 --add publishingProfile.targetRegions name=westus2 -o none
n=$(step sig image-version show -g myGalleryRG -r myGallery -i myImageDefinition -e 1.0.0 --query "length(publishingProfile.targetRegions)" -o tsv)
[ "$n" = 4 ] || { echo "regions after update: $n" >&2; exit 1; }
step sig list -g myGalleryRG --query "[].name" -o tsv

# VMs from the version and from the definition's latest, as `az vm create` makes them: a
# template deployment of a virtual network, security group, public IP, interface and the VM.
export HOME="$work/home"   # --generate-ssh-keys writes ~/.ssh
version_id=$(step sig image-version show -g myGalleryRG -r myGallery -i myImageDefinition -e 1.0.0 --query id -o tsv)
ip=$(step vm create -g myResourceGroup -n myVM --image "$version_id" --admin-username azureuser --generate-ssh-keys --query privateIpAddress -o tsv)
[ "$ip" = 10.0.0.4 ] || { echo "myVM private IP: $ip" >&2; exit 1; }
step vm create -g myResourceGroup -n myVM2 --image "${version_id%/versions/*}" --admin-username azureuser --generate-ssh-keys -o none
step vm show -g myResourceGroup -n myVM --query "storageProfile.imageReference.id" -o tsv
step vm list -g myResourceGroup --query "[].name" -o tsv
step network nic show -g myResourceGroup -n myVMVMNic --query "ipConfigurations[0].privateIPAddress" -o tsv
# A template file, as `az deployment group create` sends it (validate, then deploy).
cat > "$work/net.json" <<'JSON'
{
  // a network and an interface in it
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": { "prefix": { "type": "string" } },
  "variables": { "vnet": "[concat(parameters('prefix'), '-vnet')]" },
  "resources": [
    { "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "[variables('vnet')]",
      "location": "[resourceGroup().location]",
      "properties": { "addressSpace": { "addressPrefixes": ["10.9.0.0/16"] },
        "subnets": [ { "name": "default", "properties": { "addressPrefix": "10.9.0.0/24" } } ] } },
    { "type": "Microsoft.Network/networkInterfaces", "apiVersion": "2023-04-01", "name": "[concat(parameters('prefix'), '-nic')]",
      "location": "[resourceGroup().location]",
      "dependsOn": [ "[resourceId('Microsoft.Network/virtualNetworks', variables('vnet'))]" ],
      "properties": { "ipConfigurations": [ { "name": "ip1", "properties": { "subnet": {
          "id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', variables('vnet'), 'default')]" } } } ] } }
  ]
}
JSON
state=$(step deployment group create -g myResourceGroup -n net1 --template-file "$work/net.json" --parameters prefix=tpl --query properties.provisioningState -o tsv)
[ "$state" = Succeeded ] || { echo "deployment: $state" >&2; exit 1; }
step network nic show -g myResourceGroup -n tpl-nic --query "ipConfigurations[0].privateIPAddress" -o tsv
step deployment group list -g myResourceGroup --query "[].name" -o tsv
step deployment group delete -g myResourceGroup -n net1
step vm delete -g myResourceGroup -n myVM2 --yes
step vm delete -g myResourceGroup -n myVM --yes

# Direct sharing with another subscription (made through galleon's API): it lists the gallery,
# its definitions and versions through sharedGalleries, makes a disk from a shared version, and
# sees nothing once the share is removed.
token=$("$az" account get-access-token --query accessToken -o tsv)
other=$(curl -s --cacert "$(c caFile)" -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"displayName":"consumer"}' "https://127.0.0.1:$port/galleon/subscriptions" | python3 -c "import json,sys;print(json.load(sys.stdin)['subscriptionId'])")
step login --service-principal -u "$(c clientId)" -p "$(c clientSecret)" --tenant "$(c tenantId)" -o none
step account set --subscription "$sub"
step sig update -g myGalleryRG -r myGallery --permissions Groups -o none
step sig share add -g myGalleryRG -r myGallery --subscription-ids "$other" -o none
step sig share wait -g myGalleryRG -r myGallery --updated --timeout 60
ids=$(step sig show -g myGalleryRG -r myGallery --sharing-groups --query "sharingProfile.groups[0].ids[0]" -o tsv)
[ "$ids" = "$other" ] || { echo "sharing groups: $ids" >&2; exit 1; }
unique=$(step sig show -g myGalleryRG -r myGallery --query identifier.uniqueName -o tsv)
listed=$(step sig list-shared --location westcentralus --subscription "$other" --query "[].name" -o tsv)
[ "$listed" = "$unique" ] || { echo "list-shared: $listed" >&2; exit 1; }
step sig image-definition list-shared --location westcentralus --gallery-unique-name "$unique" --subscription "$other" --query "[].name" -o tsv
shared_version=$(step sig image-version list-shared --location westcentralus --gallery-unique-name "$unique" \
  --gallery-image-definition myImageDefinition --subscription "$other" --query "[0].uniqueId" -o tsv)
step group create -n consumerRG -l westcentralus --subscription "$other" -o none
step disk create -g consumerRG -n fromShared --gallery-image-reference "$shared_version" --subscription "$other" -o none
state=$(step disk show -g consumerRG -n fromShared --subscription "$other" --query provisioningState -o tsv)
[ "$state" = Succeeded ] || { echo "disk from a shared version: $state" >&2; exit 1; }
step sig share remove -g myGalleryRG -r myGallery --subscription-ids "$other" -o none
left=$(step sig list-shared --location westcentralus --subscription "$other" --query "length(@)" -o tsv)
[ "$left" = 0 ] || { echo "still shared after remove: $left" >&2; exit 1; }
step sig share reset -g myGalleryRG -r myGallery -o none
# A community gallery: published, then read through communityGalleries.
public=$(step sig update -g myGalleryRG -r myGallery --permissions Community --publisher-uri https://example.org \
  --publisher-email images@example.org --eula none --public-name-prefix team \
  --query "sharingProfile.communityGalleryInfo.publicNames[0]" -o tsv)
step sig share enable-community -g myGalleryRG -r myGallery -o none
shown=$(step sig show-community --location westcentralus --public-gallery-name "$public" --query uniqueId -o tsv)
[ "$shown" = "/CommunityGalleries/$public" ] || { echo "show-community: $shown" >&2; exit 1; }
listed=$(step sig list-community --location westcentralus --query "[].name" -o tsv)
[ "$listed" = "$public" ] || { echo "list-community: $listed" >&2; exit 1; }
step sig image-version list-community --location westcentralus --public-gallery-name "$public" \
  --gallery-image-definition myImageDefinition --query "[].name" -o tsv
step sig share reset -g myGalleryRG -r myGallery -o none

# Soft delete: a deleted version is listed as soft-deleted and comes back with undelete.
step sig update -g myGalleryRG -r myGallery --soft-delete true -o none
step sig image-version delete -g myGalleryRG -r myGallery -i myImageDefinition -e 1.0.0
listed=$(step sig image-version list-soft-deleted -g myGalleryRG -r myGallery -i myImageDefinition --query "[].name" -o tsv)
[ "$listed" = 1.0.0 ] || { echo "list-soft-deleted: $listed" >&2; exit 1; }
step sig image-version undelete -g myGalleryRG -r myGallery -i myImageDefinition -e 1.0.0 -o none
state=$(step sig image-version show -g myGalleryRG -r myGallery -i myImageDefinition -e 1.0.0 --query provisioningState -o tsv)
[ "$state" = Succeeded ] || { echo "undeleted version: $state" >&2; exit 1; }
step sig update -g myGalleryRG -r myGallery --soft-delete false -o none

# Sharing the gallery: a second service principal (made through galleon's API) gets Reader on it
# with `az role assignment create`, logs in with az, reads, and is refused a write.
token=$("$az" account get-access-token --query accessToken -o tsv)
reader=$(curl -s --cacert "$(c caFile)" -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"displayName":"other team"}' "https://127.0.0.1:$port/galleon/principals")
rj() { python3 -c "import json,sys;print(json.loads(sys.argv[1])['$1'])" "$reader"; }
gallery_id=$(step sig show -g myGalleryRG -r myGallery --query id -o tsv)
# --assignee takes the app id: az resolves it through galleon's Graph surface.
step role assignment create --assignee "$(rj clientId)" --role Reader --scope "$gallery_id" -o none
who=$(step role assignment list --scope "$gallery_id" --query "[?roleDefinitionName=='Reader'].principalName" -o tsv)
[ "$who" = "$(rj clientId)" ] || { echo "role assignment list: $who" >&2; exit 1; }
step login --service-principal -u "$(rj clientId)" -p "$(rj clientSecret)" --tenant "$(c tenantId)" -o none
step sig show -g myGalleryRG -r myGallery --query name -o tsv
if "$az" sig update -g myGalleryRG -r myGallery --set description="mine now" -o none 2> "$work/refused.txt"; then
  echo "a reader changed the gallery" >&2; exit 1
fi
grep -q AuthorizationFailed "$work/refused.txt" || { cat "$work/refused.txt" >&2; exit 1; }
echo "+ (refused: AuthorizationFailed)" >&2
step login --service-principal -u "$(c clientId)" -p "$(c clientSecret)" --tenant "$(c tenantId)" -o none
# The activity log: az monitor reads what the writes above recorded.
ops=$(step monitor activity-log list -g myGalleryRG --query "[?status.value=='Succeeded'].operationName.value" -o tsv)
echo "$ops" | grep -q "Microsoft.Compute/galleries/images/versions/write" || { echo "activity log: $ops" >&2; exit 1; }
failed=$(step monitor activity-log list -g myGalleryRG --status Failed --query "[].operationName.value" -o tsv)
echo "$failed" | grep -q "Microsoft.Compute/galleries/write" || { echo "the reader's refused write is not logged: $failed" >&2; exit 1; }
step sig image-version delete -g myGalleryRG -r myGallery -i myImageDefinition -e 1.0.0
step sig image-definition delete -g myGalleryRG -r myGallery -i myImageDefinition
step sig delete -g myGalleryRG -r myGallery
echo "az e2e: all seed commands passed"
INNER
run=(bash "$work/run.sh" "$work" "$PWD/target/debug/galleon" "$PWD/$venv/bin/az" "$PWD/scripts")
if unshare -n true 2>/dev/null; then unshare -n -- "${run[@]}"; else "${run[@]}"; fi
