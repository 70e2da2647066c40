//! Template deployments and the network records they make: the template `az vm create` sends
//! (taken from its `--debug` output) deploys a virtual network, security group, public IP,
//! interface and a VM from an image version; bad templates change nothing; a failing resource
//! fails the deployment with ARM's details; resources in use cannot be deleted.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::support::*;

const NET: &str = "api-version=2022-01-01";
const DEPLOY: &str = "api-version=2024-11-01";

fn rg() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/myResourceGroup")
}

fn network(kind: &str, name: &str) -> String {
    format!("{}/providers/Microsoft.Network/{kind}/{name}", rg())
}

/// The deployment body of `az vm create -g myResourceGroup -n vm1 --image <version>
/// --admin-username azureuser --generate-ssh-keys` (az 2.91), as it sent it.
fn az_vm_create(image: &str) -> Value {
    json!({ "properties": { "template": {
        "$schema": "https://schema.management.azure.com/schemas/2015-01-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0", "parameters": {}, "variables": {},
        "resources": [
            { "name": "vm1VNET", "type": "Microsoft.Network/virtualNetworks", "location": "westcentralus", "apiVersion": "2015-06-15",
              "dependsOn": [], "tags": {}, "properties": { "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] },
              "subnets": [{ "name": "vm1Subnet", "properties": { "addressPrefix": "10.0.0.0/24" } }] } },
            { "type": "Microsoft.Network/networkSecurityGroups", "name": "vm1NSG", "apiVersion": "2015-06-15", "location": "westcentralus",
              "tags": {}, "dependsOn": [], "properties": { "securityRules": [{ "name": "default-allow-ssh", "properties": {
                  "protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": "22", "sourceAddressPrefix": "*",
                  "destinationAddressPrefix": "*", "access": "Allow", "priority": 1000, "direction": "Inbound" } }] } },
            { "apiVersion": "2022-01-01", "type": "Microsoft.Network/publicIPAddresses", "name": "vm1PublicIP", "location": "westcentralus",
              "tags": {}, "dependsOn": [], "properties": { "publicIPAllocationMethod": "Static" }, "sku": { "name": "Standard" } },
            { "apiVersion": "2015-06-15", "type": "Microsoft.Network/networkInterfaces", "name": "vm1VMNic", "location": "westcentralus",
              "tags": {}, "dependsOn": ["Microsoft.Network/virtualNetworks/vm1VNET", "Microsoft.Network/networkSecurityGroups/vm1NSG",
                  "Microsoft.Network/publicIpAddresses/vm1PublicIP"],
              "properties": { "ipConfigurations": [{ "name": "ipconfigvm1", "properties": { "privateIPAllocationMethod": "Dynamic",
                  "subnet": { "id": format!("{}/subnets/vm1Subnet", network("virtualNetworks", "vm1VNET")) },
                  "publicIPAddress": { "id": network("publicIPAddresses", "vm1PublicIP") } } }],
                  "networkSecurityGroup": { "id": network("networkSecurityGroups", "vm1NSG") } } },
            { "apiVersion": "2026-04-01", "type": "Microsoft.Compute/virtualMachines", "name": "vm1", "location": "westcentralus",
              "tags": {}, "dependsOn": ["Microsoft.Network/networkInterfaces/vm1VMNic"],
              "properties": { "hardwareProfile": { "vmSize": "Standard_D2s_v5" },
                  "networkProfile": { "networkInterfaces": [{ "id": network("networkInterfaces", "vm1VMNic"), "properties": { "deleteOption": null } }] },
                  "storageProfile": { "osDisk": { "createOption": "fromImage", "name": null, "caching": "ReadWrite", "managedDisk": { "storageAccountType": null } },
                      "imageReference": { "id": image } },
                  "osProfile": { "computerName": "vm1", "adminUsername": "azureuser", "linuxConfiguration": { "disablePasswordAuthentication": true,
                      "ssh": { "publicKeys": [{ "keyData": "ssh-rsa AAAAB3NzaC1yc2E galleon-test", "path": "/home/azureuser/.ssh/authorized_keys" }] } } } } }
        ], "outputs": {} }, "parameters": {}, "mode": "incremental" } })
}

/// Runs jobs until the deployment ends; returns its final GET.
async fn finish(app: &TestApp, name: &str) -> Resp {
    let path = format!("{}/providers/Microsoft.Resources/deployments/{name}?{DEPLOY}", rg());
    for _ in 0..2400 {
        app.settle().await;
        let d = app.get(&path).await;
        if matches!(d.state(), "Succeeded" | "Failed") {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the deployment did not end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_template_az_vm_create_sends_deploys_a_vm_from_a_version() {
    let app = TestApp::new().await;
    let (_, def) = app.seed_definition("myResourceGroup", "g1", "def1").await;
    let version = format!("{def}/versions/1.0.0");
    assert!(app.put(&format!("{version}?{COMPUTE}"), seed_version_body()).await.status.is_success());
    app.settle().await;

    let path = format!("{}/providers/Microsoft.Resources/deployments/vm_deploy_1?{DEPLOY}", rg());
    let r = app.put(&path, az_vm_create(&version)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let operation = r.header("azure-asyncoperation").to_string();
    assert!(operation.contains("/operationStatuses/"), "{operation}");
    let d = finish(&app, "vm_deploy_1").await;
    assert_eq!(d.state(), "Succeeded", "{}", d.body);
    assert_eq!(app.poll(&operation).await.body["status"], "Succeeded");
    assert_eq!(d.body["properties"]["outputResources"].as_array().unwrap().len(), 5);

    let nic = app.get(&format!("{}?{NET}", network("networkInterfaces", "vm1VMNic"))).await;
    assert_eq!(nic.status, StatusCode::OK);
    assert_eq!(nic.body["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"], "10.0.0.4");
    let vm = app
        .get(&format!(
            "{}/providers/Microsoft.Compute/virtualMachines/vm1?api-version=2024-11-01&$expand=instanceView",
            rg()
        ))
        .await;
    assert_eq!(vm.state(), "Succeeded", "{}", vm.body);
    assert_eq!(vm.body["properties"]["storageProfile"]["imageReference"]["id"], version.as_str());
    assert!(vm.body["properties"]["networkProfile"].to_string().contains("vm1VMNic"));
    assert_eq!(vm.body["properties"]["instanceView"]["statuses"][1]["displayStatus"], "VM running");

    // Deploying the same template again converges (incremental): nothing new, still Succeeded.
    let r = app.put(&path.replace("vm_deploy_1", "vm_deploy_2"), az_vm_create(&version)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(finish(&app, "vm_deploy_2").await.state(), "Succeeded");

    // What is in use cannot be deleted, in ARM's words.
    let r = app.delete(&format!("{}?{NET}", network("networkInterfaces", "vm1VMNic"))).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "NicInUse"), "{}", r.body);
    let r = app.delete(&format!("{}?{NET}", network("virtualNetworks", "vm1VNET"))).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "InUseSubnetCannotBeDeleted"), "{}", r.body);
    let r = app.delete(&format!("{}?{NET}", network("publicIPAddresses", "vm1PublicIP"))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);

    // A second VM on the same interface is refused.
    let mut second = az_vm_create(&version);
    let resources = second["properties"]["template"]["resources"].as_array_mut().unwrap();
    resources.retain(|r| r["type"] == "Microsoft.Compute/virtualMachines");
    resources[0]["name"] = json!("vm2");
    resources[0]["dependsOn"] = json!([]);
    let r = app.put(&path.replace("vm_deploy_1", "vm_deploy_3"), second).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let d = finish(&app, "vm_deploy_3").await;
    assert_eq!(d.state(), "Failed");
    assert_eq!(d.body["properties"]["error"]["code"], "DeploymentFailed");
    assert_eq!(d.body["properties"]["error"]["details"][0]["code"], "NicInUse", "{}", d.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_resource_fails_the_deployment_and_keeps_what_came_before() {
    let app = TestApp::new().await;
    app.seed_definition("myResourceGroup", "g1", "def1").await;
    let mut body = az_vm_create("/nowhere");
    // The interface names a subnet the network does not have.
    let resources = body["properties"]["template"]["resources"].as_array_mut().unwrap();
    resources[3]["properties"]["ipConfigurations"][0]["properties"]["subnet"]["id"] =
        json!(format!("{}/subnets/missing", network("virtualNetworks", "vm1VNET")));
    let r = app.put(&format!("{}/providers/Microsoft.Resources/deployments/d1?{DEPLOY}", rg()), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let d = finish(&app, "d1").await;
    assert_eq!(d.state(), "Failed", "{}", d.body);
    let detail = &d.body["properties"]["error"]["details"][0];
    assert_eq!(detail["code"], "InvalidParameter", "{}", d.body);
    assert!(detail["message"].as_str().unwrap().contains("missing"), "{detail}");
    assert!(detail["target"].as_str().unwrap().ends_with("networkInterfaces/vm1VMNic"));
    assert_eq!(d.body["properties"]["outputResources"].as_array().unwrap().len(), 3, "the three before it stay");
    assert_eq!(app.get(&format!("{}?{NET}", network("virtualNetworks", "vm1VNET"))).await.status, StatusCode::OK);
    assert_eq!(
        app.get(&format!("{}?{NET}", network("networkInterfaces", "vm1VMNic"))).await.status,
        StatusCode::NOT_FOUND
    );
}

/// A deployment cut short by a restart is finished by the restarted server, as its caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_interrupted_by_a_restart_completes_after_it() {
    let app = TestApp::new().await;
    let (_, def) = app.seed_definition("myResourceGroup", "g1", "def1").await;
    let version = format!("{def}/versions/1.0.0");
    assert!(app.put(&format!("{version}?{COMPUTE}"), seed_version_body()).await.status.is_success());
    app.settle().await;
    let path = format!("{}/providers/Microsoft.Resources/deployments/resumed?{DEPLOY}", rg());
    let r = app.put(&path, az_vm_create(&version)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let operation = r.header("azure-asyncoperation").to_string();
    // No job ran before the restart: the whole run happens in the new process.
    let app = app.restart().await;
    let d = finish(&app, "resumed").await;
    assert_eq!(d.state(), "Succeeded", "{}", d.body);
    assert_eq!(app.poll(&operation).await.body["status"], "Succeeded");
    let vm = app.get(&format!("{}/providers/Microsoft.Compute/virtualMachines/vm1?api-version=2024-11-01", rg())).await;
    assert_eq!(vm.state(), "Succeeded", "{}", vm.body);
}

#[tokio::test]
async fn templates_galleon_cannot_deploy_are_refused_before_anything_is_made() {
    let app = TestApp::new().await;
    app.seed_definition("myResourceGroup", "g1", "def1").await;
    let path = format!("{}/providers/Microsoft.Resources/deployments/bad?{DEPLOY}", rg());
    let vnet = json!({ "type": "Microsoft.Network/virtualNetworks", "name": "v", "apiVersion": "2022-01-01", "location": "westcentralus",
        "properties": { "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] } } });
    let cases = [
        json!({ "properties": { "mode": "Incremental", "template": { "resources": [vnet.clone(),
            { "type": "Microsoft.Storage/storageAccounts", "name": "s", "apiVersion": "2023-01-01" }] } } }),
        json!({ "properties": { "mode": "Incremental", "template": { "resources": [vnet.clone(),
            { "type": "Microsoft.Network/networkInterfaces", "name": "[reference('v').x]", "apiVersion": "2022-01-01" }] } } }),
        json!({ "properties": { "mode": "Incremental", "templateLink": { "uri": "https://example.com/t.json" } } }),
        json!({ "properties": { "mode": "Complete", "template": { "resources": [vnet.clone()] } } }),
    ];
    for body in cases {
        let r = app.put(&path, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
        assert!(matches!(r.code(), "InvalidTemplate" | "InvalidDeploymentMode"), "{}", r.body);
    }
    assert_eq!(app.get(&format!("{}?{NET}", network("virtualNetworks", "v"))).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn network_records_keep_azure_rules() {
    let app = TestApp::new().await;
    app.seed_definition("myResourceGroup", "g1", "def1").await;
    let put = |kind: &'static str, name: &'static str, body: Value| {
        let app = &app;
        async move { app.put(&format!("{}?{NET}", network(kind, name)), body).await }
    };
    let vnet = |prefix: &str, subnet: &str| {
        json!({ "location": "westcentralus", "properties": {
        "addressSpace": { "addressPrefixes": [prefix] }, "subnets": [{ "name": "s1", "properties": { "addressPrefix": subnet } }] } })
    };
    let r = put("virtualNetworks", "v1", vnet("10.0.0.0/16", "10.1.0.0/24")).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "InvalidParameter"), "{}", r.body);
    let r = put("virtualNetworks", "v1", vnet("10.0.0.1/16", "10.0.0.0/24")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = put("virtualNetworks", "v1", vnet("10.0.0.0/16", "10.0.0.0/29")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(r.body["properties"]["subnets"][0]["id"].as_str().unwrap().ends_with("/virtualNetworks/v1/subnets/s1"));
    let r = put("networkSecurityGroups", "n1", json!({ "location": "westcentralus", "properties": { "securityRules": [
        { "name": "a", "properties": { "priority": 5000, "direction": "Inbound", "access": "Allow", "protocol": "Tcp" } }] } })).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    let subnet = format!("{}/subnets/s1", network("virtualNetworks", "v1"));
    let nic = |ip: Option<&str>| {
        let mut c = json!({ "name": "c1", "properties": { "subnet": { "id": subnet } } });
        if let Some(ip) = ip {
            c["properties"]["privateIPAllocationMethod"] = json!("Static");
            c["properties"]["privateIPAddress"] = json!(ip);
        }
        json!({ "location": "westcentralus", "properties": { "ipConfigurations": [c] } })
    };
    // A /29 has three usable addresses (.4, .5, .6).
    let mut ips = vec![];
    for name in ["nic1", "nic2", "nic3"] {
        let r = put("networkInterfaces", name, nic(None)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        ips.push(
            r.body["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"].as_str().unwrap().to_string(),
        );
    }
    assert_eq!(ips, ["10.0.0.4", "10.0.0.5", "10.0.0.6"]);
    let r = put("networkInterfaces", "nic4", nic(None)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("no free"), "{}", r.body);
    // Replacing an interface keeps or moves its own address, never another's.
    let r = put("networkInterfaces", "nic3", nic(Some("10.0.0.5"))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = put("networkInterfaces", "nic3", nic(Some("10.0.0.6"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // References must exist, in the same region.
    let other = json!({ "location": "eastus", "properties": { "ipConfigurations": [{ "name": "c", "properties": { "subnet": { "id": subnet } } }] } });
    let r = put("networkInterfaces", "nic5", other).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("location"), "{}", r.body);

    // A subnet in use keeps its prefix and cannot be dropped by an update of its network.
    let r = put("virtualNetworks", "v1", vnet("10.0.0.0/16", "10.0.0.8/29")).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "InUseSubnetCannotBeUpdated"), "{}", r.body);
    let r = put(
        "virtualNetworks",
        "v1",
        json!({ "location": "westcentralus", "properties": {
        "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] } } }),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = put(
        "virtualNetworks",
        "v1",
        json!({ "location": "westcentralus", "properties": {
        "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] }, "subnets": [
            { "name": "s1", "properties": { "addressPrefix": "10.0.0.0/29" } },
            { "name": "s2", "properties": { "addressPrefix": "10.0.1.0/24" } }] } }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "adding a subnet is fine: {}", r.body);

    let list = app.get(&format!("{}/providers/Microsoft.Network/networkInterfaces?{NET}", rg())).await;
    assert_eq!(list.body["value"].as_array().unwrap().len(), 3);
    let all = app.get(&format!("/subscriptions/{SUB}/providers/Microsoft.Network/networkInterfaces?{NET}")).await;
    assert_eq!(all.body["value"].as_array().unwrap().len(), 3);
    assert_eq!(app.delete(&format!("{}?{NET}", network("networkInterfaces", "nic1"))).await.status, StatusCode::OK);
    assert_eq!(
        app.delete(&format!("{}?{NET}", network("networkInterfaces", "nic1"))).await.status,
        StatusCode::NO_CONTENT
    );
    let r = app.get(&format!("{}/providers/Microsoft.Network/loadBalancers/x?{NET}", rg())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_file_as_az_deployment_group_create_sends_it_validates_then_deploys() {
    let app = TestApp::new().await;
    app.seed_definition("myResourceGroup", "g1", "def1").await;
    // The JSONC az splices in: the template file's text under an unquoted key, with a comment.
    let template = r#"{
  // a network and an interface in it
  "parameters": { "prefix": { "type": "string" }, "space": { "type": "string", "defaultValue": "10.1.0.0/16" } },
  "variables": { "vnetName": "[concat(parameters('prefix'), '-vnet')]" },
  "resources": [
    { "type": "Microsoft.Network/networkInterfaces", "apiVersion": "2023-04-01", "name": "[concat(parameters('prefix'), '-nic')]",
      "location": "[resourceGroup().location]",
      "dependsOn": [ "[resourceId('Microsoft.Network/virtualNetworks', variables('vnetName'))]" ],
      "properties": { "ipConfigurations": [ { "name": "ip1", "properties": { "subnet": {
          "id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', variables('vnetName'), 'default')]" } } } ] } },
    { "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "[variables('vnetName')]",
      "location": "[resourceGroup().location]",
      "properties": { "addressSpace": { "addressPrefixes": [ "[parameters('space')]" ] },
        "subnets": [ { "name": "default", "properties": { "addressPrefix": "10.1.0.0/24" } } ] } },
  ],
}"#;
    let body = format!(
        r#"{{"properties": {{"parameters": {{"prefix": {{"value": "tpl"}}}}, "mode": "Incremental", template:{template}}}}}"#
    );
    let base = format!("{}/providers/Microsoft.Resources/deployments/tpl1", rg());
    let post = |path: String, body: String| {
        let app = &app;
        async move {
            let req = axum::http::Request::post(path)
                .header("authorization", format!("Bearer {}", app.token))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            app.send(req).await
        }
    };
    let r = post(format!("{base}/validate?{DEPLOY}"), body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let validated: Vec<&str> = r.body["properties"]["validatedResources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert!(
        validated[0].ends_with("/virtualNetworks/tpl-vnet") && validated[1].ends_with("/networkInterfaces/tpl-nic")
    );
    assert_eq!(
        app.get(&format!("{}?{NET}", network("virtualNetworks", "tpl-vnet"))).await.status,
        StatusCode::NOT_FOUND,
        "validate writes nothing"
    );

    let req = axum::http::Request::put(format!("{base}?{DEPLOY}"))
        .header("authorization", format!("Bearer {}", app.token))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::CREATED);
    assert_eq!(finish(&app, "tpl1").await.state(), "Succeeded");
    let nic = app.get(&format!("{}?{NET}", network("networkInterfaces", "tpl-nic"))).await;
    assert_eq!(
        nic.body["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"], "10.1.0.4",
        "{}",
        nic.body
    );

    let list = app.get(&format!("{}/providers/Microsoft.Resources/deployments/?{DEPLOY}", rg())).await;
    assert_eq!(list.body["value"][0]["name"], "tpl1", "{}", list.body);
    assert_eq!(app.delete(&format!("{base}?{DEPLOY}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&format!("{base}?{DEPLOY}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(nic.status, StatusCode::OK, "deleting a deployment keeps what it made");
    let r = post(format!("{base}/validate?{DEPLOY}"), "{not json".into()).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "InvalidRequestContent"), "{}", r.body);
}
