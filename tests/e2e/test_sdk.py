"""The seed's flow with the official Azure Python SDK against the real galleon binary:
resource group -> gallery -> image definition -> image version (created, read with
$expand=ReplicationStatus, listed, updated, deleted), over HTTPS with a token from galleon's
token endpoint."""

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute import models as m

RG = "myGalleryRG"
GALLERY = "myGallery"
IMAGE = "myImageDefinition"
LOCATION = "westcentralus"


def managed_image_id(sub):
    return f"/subscriptions/{sub}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/images/myImage"


def test_gallery_definition_version_life_cycle(server, compute, resources):
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
            source=m.GalleryArtifactVersionFullSource(id=managed_image_id(sub))),
    )).result()
    assert version.provisioning_state == "Succeeded"
    regions = {r.name: r for r in version.publishing_profile.target_regions}
    assert regions["West Central US"].regional_replica_count == 2
    assert regions["East US"].storage_account_type == "Standard_ZRS"

    expanded = compute.gallery_image_versions.get(RG, GALLERY, IMAGE, "1.0.0", expand="ReplicationStatus")
    assert expanded.replication_status.aggregated_state == "Completed"
    assert sorted(s.region for s in expanded.replication_status.summary) == ["East US", "South Central US", "West Central US"]
    plain = compute.gallery_image_versions.get(RG, GALLERY, IMAGE, "1.0.0")
    assert plain.replication_status is None

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


def test_bad_input_is_an_arm_error(server, compute, resources):
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
                source=m.GalleryArtifactVersionFullSource(id=managed_image_id(server.creds["subscriptionId"]))))).result()
    assert bad_version.value.error.code == "InvalidParameter"
    assert "Major(int).Minor(int).Patch(int)" in bad_version.value.error.message
    with pytest.raises(ResourceNotFoundError):
        compute.galleries.get("errorsRG", "missing")
