"""The seed's flow with the official Azure Python SDK against the real galleon binary, over
HTTPS with a token from galleon's token endpoint: a VHD made by qemu-img is imported as a disk,
captured as a managed image, published as an image version to three regions (created, read with
$expand=ReplicationStatus, listed, updated, deleted), and a disk made from the version in another
region downloads byte for byte identical to the original VHD."""

import os
import random
import shutil
import subprocess

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute import models as m

RG = "myGalleryRG"
GALLERY = "myGallery"
IMAGE = "myImageDefinition"
LOCATION = "westcentralus"


def make_vhd(path, mib=24):
    """A sparse raw image with scattered random data, converted by qemu-img to a fixed VHD."""
    raw = str(path) + ".raw"
    rnd = random.Random(7)
    with open(raw, "wb") as f:
        f.truncate(mib << 20)
        for _ in range(12):
            f.seek(rnd.randrange(0, (mib << 20) - 65536, 4096))
            f.write(rnd.randbytes(65536))
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on", raw, str(path)], check=True)
    os.remove(raw)
    return open(path, "rb").read()


@pytest.fixture(scope="module")
def managed_image(server, compute, resources):
    """Import a qemu-img VHD as a disk and capture it as a managed image; returns (image, VHD bytes)."""
    if not shutil.which("qemu-img"):
        pytest.skip("qemu-img is not installed")
    resources.resource_groups.create_or_update("myResourceGroup", {"location": LOCATION})
    imports = os.path.join(server.dir, "data", "imports")
    original = make_vhd(os.path.join(imports, "golden.vhd"))
    disk = compute.disks.begin_create_or_update("myResourceGroup", "golden-os", m.Disk(
        location=LOCATION, os_type="Linux", hyper_v_generation="V2",
        creation_data=m.CreationData(create_option="Import", source_uri=f"file://{imports}/golden.vhd"))).result()
    assert disk.provisioning_state == "Succeeded"
    assert disk.disk_size_bytes == len(original) - 512
    image = compute.images.begin_create_or_update("myResourceGroup", "myImage", m.Image(
        location=LOCATION, hyper_v_generation="V2",
        storage_profile=m.ImageStorageProfile(os_disk=m.ImageOSDisk(
            os_type="Linux", os_state="Generalized", managed_disk=m.SubResource(id=disk.id))))).result()
    assert image.provisioning_state == "Succeeded"
    return image, original


def test_gallery_definition_version_life_cycle(server, compute, resources, managed_image):
    image, original = managed_image
    sub = server.creds["subscriptionId"]
    rg = resources.resource_groups.create_or_update(RG, {"location": LOCATION})
    assert rg.location == LOCATION

    gallery = compute.galleries.begin_create_or_update(
        RG, GALLERY, m.Gallery(location=LOCATION, description="golden images")).result()
    assert gallery.provisioning_state == "Succeeded"
    assert gallery.identifier.unique_name == f"{sub}-{GALLERY.upper()}"

    definition = compute.gallery_images.begin_create_or_update(RG, GALLERY, IMAGE, m.GalleryImage(
        location=LOCATION,
        os_type="Linux", os_state="Generalized", hyper_v_generation="V2",
        identifier=m.GalleryImageIdentifier(publisher="myPublisher", offer="myOffer", sku="mySKU"),
    )).result()
    assert definition.provisioning_state == "Succeeded"
    assert definition.architecture == "x64"

    version = compute.gallery_image_versions.begin_create_or_update(RG, GALLERY, IMAGE, "1.0.0", m.GalleryImageVersion(
        location=LOCATION,
        publishing_profile=m.GalleryImageVersionPublishingProfile(replica_count=2, target_regions=[
            m.TargetRegion(name="westcentralus"),
            m.TargetRegion(name="southcentralus", regional_replica_count=1),
            m.TargetRegion(name="eastus", regional_replica_count=1, storage_account_type="Standard_ZRS"),
        ]),
        storage_profile=m.GalleryImageVersionStorageProfile(
            source=m.GalleryArtifactVersionFullSource(id=image.id)),
    )).result()
    assert version.provisioning_state == "Succeeded"
    assert version.storage_profile.os_disk_image.size_in_gb == 1
    regions = {r.name: r for r in version.publishing_profile.target_regions}
    assert regions["West Central US"].regional_replica_count == 2
    assert regions["East US"].storage_account_type == "Standard_ZRS"

    expanded = compute.gallery_image_versions.get(RG, GALLERY, IMAGE, "1.0.0", expand="ReplicationStatus")
    assert expanded.replication_status.aggregated_state == "Completed"
    assert sorted(s.region for s in expanded.replication_status.summary) == ["East US", "South Central US", "West Central US"]
    plain = compute.gallery_image_versions.get(RG, GALLERY, IMAGE, "1.0.0")
    assert plain.replication_status is None

    # A disk from the version in another target region, downloaded through its access URL.
    version_id = version.id
    disk = compute.disks.begin_create_or_update(RG, "fromVersion", m.Disk(
        location="eastus", creation_data=m.CreationData(
            create_option="FromImage", gallery_image_reference=m.ImageDiskReference(id=version_id)))).result()
    assert disk.os_type == "Linux"
    sas = compute.disks.begin_grant_access(RG, "fromVersion", m.GrantAccessData(access="Read", duration_in_seconds=600)).result()
    downloaded = requests.get(sas.access_sas, verify=server.creds["caFile"], timeout=60).content
    assert downloaded == original, "the version's bytes in eastus are the qemu-img VHD"
    compute.disks.begin_revoke_access(RG, "fromVersion").result()
    compute.disks.begin_delete(RG, "fromVersion").result()

    listed = list(compute.gallery_image_versions.list_by_gallery_image(RG, GALLERY, IMAGE))
    assert [v.name for v in listed] == ["1.0.0"]
    assert [g.name for g in compute.galleries.list_by_resource_group(RG)] == [GALLERY]

    # Update: add a region and exclude from latest.
    version.publishing_profile.target_regions.append(m.TargetRegion(name="westus2"))
    version.publishing_profile.exclude_from_latest = True
    updated = compute.gallery_image_versions.begin_create_or_update(RG, GALLERY, IMAGE, "1.0.0", version).result()
    assert len(updated.publishing_profile.target_regions) == 4
    assert updated.publishing_profile.exclude_from_latest is True
    patched = compute.gallery_image_versions.begin_update(RG, GALLERY, IMAGE, "1.0.0", m.GalleryImageVersionUpdate(
        publishing_profile=m.GalleryImageVersionPublishingProfile(exclude_from_latest=False))).result()
    assert patched.publishing_profile.exclude_from_latest is False

    # Deleting a parent with children is refused, as in Azure.
    with pytest.raises(HttpResponseError) as refused:
        compute.gallery_images.begin_delete(RG, GALLERY, IMAGE).result()
    assert refused.value.error.code == "CannotDeleteResource"

    compute.gallery_image_versions.begin_delete(RG, GALLERY, IMAGE, "1.0.0").result()
    with pytest.raises(ResourceNotFoundError):
        compute.gallery_image_versions.get(RG, GALLERY, IMAGE, "1.0.0")
    compute.gallery_images.begin_delete(RG, GALLERY, IMAGE).result()
    compute.galleries.begin_delete(RG, GALLERY).result()
    assert list(compute.galleries.list_by_resource_group(RG)) == []


def test_bad_input_is_an_arm_error(server, compute, resources, managed_image):
    image, _ = managed_image
    resources.resource_groups.create_or_update("errorsRG", {"location": LOCATION})
    with pytest.raises(HttpResponseError) as bad_name:
        compute.galleries.begin_create_or_update("errorsRG", "bad-name", m.Gallery(location=LOCATION)).result()
    assert bad_name.value.error.code == "InvalidResourceName"
    compute.galleries.begin_create_or_update("errorsRG", "g", m.Gallery(location=LOCATION)).result()
    compute.gallery_images.begin_create_or_update("errorsRG", "g", "img", m.GalleryImage(
        location=LOCATION, os_type="Windows", os_state="Specialized",
        identifier=m.GalleryImageIdentifier(publisher="p", offer="o", sku="s"))).result()
    with pytest.raises(HttpResponseError) as bad_version:
        compute.gallery_image_versions.begin_create_or_update("errorsRG", "g", "img", "1.0", m.GalleryImageVersion(
            location=LOCATION, storage_profile=m.GalleryImageVersionStorageProfile(
                source=m.GalleryArtifactVersionFullSource(id=image.id)))).result()
    assert bad_version.value.error.code == "InvalidParameter"
    assert "Major(int).Minor(int).Patch(int)" in bad_version.value.error.message
    with pytest.raises(ResourceNotFoundError):
        compute.galleries.get("errorsRG", "missing")


def test_a_reader_reads_but_is_refused_a_write(server, compute, resources, credential):
    from azure.identity import ClientSecretCredential
    from azure.mgmt.compute import ComputeManagementClient

    c = server.creds
    resources.resource_groups.create_or_update("sharedRG", {"location": LOCATION})
    gallery = compute.galleries.begin_create_or_update("sharedRG", "shared", m.Gallery(location=LOCATION)).result()
    admin = {"Authorization": f"Bearer {credential.get_token('https://management.azure.com/.default').token}"}
    reader = requests.post(f"{server.endpoint}/galleon/principals", json={"displayName": "other team"}, headers=admin, verify=c["caFile"]).json()
    assignment = f"{server.endpoint}{gallery.id}/providers/Microsoft.Authorization/roleAssignments/22222222-0000-0000-0000-000000000001?api-version=2022-04-01"
    r = requests.put(assignment, headers=admin, verify=c["caFile"], json={"properties": {
        "roleDefinitionId": f"/subscriptions/{c['subscriptionId']}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "principalId": reader["objectId"], "principalType": "ServicePrincipal"}})
    assert r.status_code == 201, r.text

    cred = ClientSecretCredential(c["tenantId"], reader["clientId"], reader["clientSecret"], authority=server.endpoint,
                                  disable_instance_discovery=True, connection_verify=c["caFile"])
    as_reader = ComputeManagementClient(cred, c["subscriptionId"], base_url=server.endpoint, connection_verify=c["caFile"])
    assert as_reader.galleries.get("sharedRG", "shared").name == "shared"
    with pytest.raises(HttpResponseError) as refused:
        as_reader.galleries.begin_create_or_update("sharedRG", "shared", m.Gallery(location=LOCATION, description="mine now")).result()
    assert refused.value.error.code == "AuthorizationFailed"
    assert compute.galleries.get("sharedRG", "shared").description is None, "nothing changed"


def test_storage_sdk_reads_and_uploads_disks_as_page_blobs(server, compute, managed_image):
    """azure-storage-blob against access URLs, with its defaults: download_blob (which reads the
    page list first), page ranges, properties, and upload_blob(blob_type="PageBlob") on a Write URL."""
    from azure.storage.blob import BlobClient

    _, original = managed_image
    ca = server.creds["caFile"]
    read = compute.disks.begin_grant_access("myResourceGroup", "golden-os", m.GrantAccessData(access="Read", duration_in_seconds=600)).result()
    blob = BlobClient.from_blob_url(read.access_sas, connection_verify=ca)
    assert blob.download_blob().readall() == original
    props = blob.get_blob_properties()
    assert props.size == len(original) and props.blob_type == "PageBlob" and props.last_modified is not None
    pages = list(blob.list_page_ranges())
    assert pages and pages[-1].end == len(original) - 1 and not pages[-1].cleared, "the footer is data"
    with pytest.raises(HttpResponseError) as refused:
        blob.get_blob_tags()
    assert refused.value.error_code == "InvalidQueryParameterValue"
    compute.disks.begin_revoke_access("myResourceGroup", "golden-os").result()

    compute.disks.begin_create_or_update("myResourceGroup", "uploaded", m.Disk(
        location=LOCATION, os_type="Linux", hyper_v_generation="V2",
        creation_data=m.CreationData(create_option="Upload", upload_size_bytes=len(original)))).result()
    write = compute.disks.begin_grant_access("myResourceGroup", "uploaded", m.GrantAccessData(access="Write", duration_in_seconds=600)).result()
    BlobClient.from_blob_url(write.access_sas, connection_verify=ca).upload_blob(original, blob_type="PageBlob")
    compute.disks.begin_revoke_access("myResourceGroup", "uploaded").result()
    back = compute.disks.begin_grant_access("myResourceGroup", "uploaded", m.GrantAccessData(access="Read", duration_in_seconds=600)).result()
    assert BlobClient.from_blob_url(back.access_sas, connection_verify=ca).download_blob().readall() == original
    compute.disks.begin_revoke_access("myResourceGroup", "uploaded").result()


def other_team(server, credential, name, assignment, group):
    """Another team: a new subscription, a new principal that is Contributor there and nowhere
    else, a resource group of its own; returns (subscription id, its ComputeManagementClient)."""
    from azure.identity import ClientSecretCredential
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.resource.resources import ResourceManagementClient

    c = server.creds
    admin = {"Authorization": f"Bearer {credential.get_token('https://management.azure.com/.default').token}"}
    other = requests.post(f"{server.endpoint}/galleon/subscriptions", json={"displayName": name}, headers=admin, verify=c["caFile"]).json()["subscriptionId"]
    team = requests.post(f"{server.endpoint}/galleon/principals", json={"displayName": name}, headers=admin, verify=c["caFile"]).json()
    r = requests.put(f"{server.endpoint}/subscriptions/{other}/providers/Microsoft.Authorization/roleAssignments/{assignment}?api-version=2022-04-01",
                     headers=admin, verify=c["caFile"], json={"properties": {"roleDefinitionId": "b24988ac-6180-42a0-ab88-20f7382dd24c",
                                                                            "principalId": team["objectId"], "principalType": "ServicePrincipal"}})
    assert r.status_code == 201, r.text
    cred = ClientSecretCredential(c["tenantId"], team["clientId"], team["clientSecret"], authority=server.endpoint,
                                  disable_instance_discovery=True, connection_verify=c["caFile"])
    ResourceManagementClient(cred, other, base_url=server.endpoint, connection_verify=c["caFile"]).resource_groups.create_or_update(group, {"location": LOCATION})
    return other, ComputeManagementClient(cred, other, base_url=server.endpoint, connection_verify=c["caFile"])


def test_a_gallery_shared_with_another_subscription_is_used_there_until_unshared(server, compute, resources, credential, managed_image):
    """Direct sharing with the SDK's own operations (gallery_sharing_profile, shared_galleries,
    shared_gallery_images, shared_gallery_image_versions) and a second principal that acts only
    in its own subscription."""
    image, original = managed_image
    resources.resource_groups.create_or_update("pubRG", {"location": LOCATION})
    compute.galleries.begin_create_or_update("pubRG", "pub", m.Gallery(
        location=LOCATION, sharing_profile=m.SharingProfile(permissions="Groups"))).result()
    compute.gallery_images.begin_create_or_update("pubRG", "pub", "img", m.GalleryImage(
        location=LOCATION, os_type="Linux", os_state="Generalized", hyper_v_generation="V2",
        identifier=m.GalleryImageIdentifier(publisher="p", offer="o", sku="shared"))).result()
    compute.gallery_image_versions.begin_create_or_update("pubRG", "pub", "img", "1.0.0", m.GalleryImageVersion(
        location=LOCATION, storage_profile=m.GalleryImageVersionStorageProfile(source=m.GalleryArtifactVersionFullSource(id=image.id)))).result()

    # Another team: its own subscription, its own principal (Contributor there, nothing here).
    other, theirs = other_team(server, credential, "team", "52222222-0000-0000-0000-000000000001", "consumerRG")
    assert list(theirs.shared_galleries.list(LOCATION)) == []

    compute.gallery_sharing_profile.begin_update("pubRG", "pub", m.SharingUpdate(
        operation_type="Add", groups=[m.SharingProfileGroup(type="Subscriptions", ids=[other])])).result()
    unique = compute.galleries.get("pubRG", "pub").identifier.unique_name
    shared = list(theirs.shared_galleries.list(LOCATION))
    assert [g.name for g in shared] == [unique]
    assert [i.name for i in theirs.shared_gallery_images.list(LOCATION, unique)] == ["img"]
    versions = list(theirs.shared_gallery_image_versions.list(LOCATION, unique, "img"))
    assert [v.name for v in versions] == ["1.0.0"]
    disk = theirs.disks.begin_create_or_update("consumerRG", "fromShared", m.Disk(location=LOCATION, creation_data=m.CreationData(
        create_option="FromImage", gallery_image_reference=m.ImageDiskReference(shared_gallery_image_id=versions[0].unique_id)))).result()
    assert disk.provisioning_state == "Succeeded" and disk.disk_size_bytes == len(original) - 512
    with pytest.raises(HttpResponseError) as refused:
        theirs.galleries.begin_create_or_update("pubRG", "pub", m.Gallery(location=LOCATION, description="mine")).result()
    assert refused.value.status_code in (403, 404)

    compute.gallery_sharing_profile.begin_update("pubRG", "pub", m.SharingUpdate(
        operation_type="Remove", groups=[m.SharingProfileGroup(type="Subscriptions", ids=[other])])).result()
    assert list(theirs.shared_galleries.list(LOCATION)) == []
    with pytest.raises(HttpResponseError):
        theirs.disks.begin_create_or_update("consumerRG", "afterRemove", m.Disk(location=LOCATION, creation_data=m.CreationData(
            create_option="FromImage", gallery_image_reference=m.ImageDiskReference(shared_gallery_image_id=versions[0].unique_id)))).result()
    assert theirs.disks.get("consumerRG", "fromShared").provisioning_state == "Succeeded", "disks made stay"


def test_a_community_gallery_is_read_and_used_by_another_subscription_until_reset(server, compute, resources, credential, managed_image):
    """A community gallery with the SDK's community_galleries operations, read by a principal that
    has no role on it, only Contributor in its own subscription."""
    image, original = managed_image
    resources.resource_groups.create_or_update("communityRG", {"location": LOCATION})
    g = compute.galleries.begin_create_or_update("communityRG", "pub", m.Gallery(location=LOCATION, sharing_profile=m.SharingProfile(
        permissions="Community", community_gallery_info=m.CommunityGalleryInfo(
            publisher_uri="https://images.example.org", publisher_contact="images@example.org", eula="none", public_name_prefix="sdk")))).result()
    public = g.sharing_profile.community_gallery_info.public_names[0]
    compute.gallery_images.begin_create_or_update("communityRG", "pub", "img", m.GalleryImage(
        location=LOCATION, os_type="Linux", os_state="Generalized", hyper_v_generation="V2",
        identifier=m.GalleryImageIdentifier(publisher="p", offer="o", sku="community"))).result()
    compute.gallery_image_versions.begin_create_or_update("communityRG", "pub", "img", "1.0.0", m.GalleryImageVersion(
        location=LOCATION, storage_profile=m.GalleryImageVersionStorageProfile(source=m.GalleryArtifactVersionFullSource(id=image.id)))).result()
    compute.gallery_sharing_profile.begin_update("communityRG", "pub", m.SharingUpdate(operation_type="EnableCommunity")).result()

    _, theirs = other_team(server, credential, "public", "53333333-0000-0000-0000-000000000001", "usersRG")

    gallery = theirs.community_galleries.get(LOCATION, public)
    assert gallery.unique_id == f"/CommunityGalleries/{public}"
    assert [i.name for i in theirs.community_gallery_images.list(LOCATION, public)] == ["img"]
    versions = list(theirs.community_gallery_image_versions.list(LOCATION, public, "img"))
    assert [v.name for v in versions] == ["1.0.0"]
    disk = theirs.disks.begin_create_or_update("usersRG", "fromCommunity", m.Disk(location=LOCATION, creation_data=m.CreationData(
        create_option="FromImage", gallery_image_reference=m.ImageDiskReference(community_gallery_image_id=versions[0].unique_id)))).result()
    assert disk.provisioning_state == "Succeeded" and disk.disk_size_bytes == len(original) - 512

    compute.gallery_sharing_profile.begin_update("communityRG", "pub", m.SharingUpdate(operation_type="Reset")).result()
    with pytest.raises(ResourceNotFoundError):
        theirs.community_galleries.get(LOCATION, public)
