//! The CLI's arguments: az's names and short forms (`-g`, `-r`, `-i`, `-e`, `-l`, `-n`).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

pub(crate) use super::generic_update::GenericUpdate;

const DEFINITION_EXAMPLE: &str = "Example (a definition for specialized Linux images):
  galleon sig image-definition create \\
     --resource-group myGalleryRG \\
     --gallery-name myGallery \\
     --gallery-image-definition myImageDefinition \\
     --publisher myPublisher \\
     --offer myOffer \\
     --sku mySKU \\
     --os-type Linux \\
     --os-state specialized";

const VERSION_EXAMPLE: &str = "Example (version 1.0.0 from a VM: 2 zone-redundant replicas in West Central US, 1 in South Central US and 1 in East US):
  galleon sig image-version create \\
     --resource-group myGalleryRG \\
     --gallery-name myGallery \\
     --gallery-image-definition myImageDefinition \\
     --gallery-image-version 1.0.0 \\
     --target-regions \"westcentralus\" \"southcentralus=1\" \"eastus=1=standard_zrs\" \\
     --replica-count 2 \\
     --managed-image \"/subscriptions/<Subscription ID>/resourceGroups/MyResourceGroup/providers/Microsoft.Compute/virtualMachines/myVM\"";

/// `-o/--output`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum Output {
    Json,
    Jsonc,
    Table,
    Tsv,
    Yaml,
    None,
}

/// `galleon login`.
#[derive(Args, Debug)]
pub(crate) struct LoginArgs {
    /// A local server's data directory: its credentials.json is the login.
    #[arg(long, env = "GALLEON_DATA_DIR", conflicts_with = "server")]
    pub data_dir: Option<PathBuf>,
    /// A server's URL (with --tenant, --client-id, --client-secret).
    #[arg(long, requires_all = ["tenant", "client_id", "client_secret"])]
    pub server: Option<String>,
    #[arg(long, short = 't')]
    pub tenant: Option<String>,
    #[arg(long, short = 'u')]
    pub client_id: Option<String>,
    /// The principal's secret (it may begin with '-').
    #[arg(long, short = 'p', allow_hyphen_values = true)]
    pub client_secret: Option<String>,
    /// The subscription to use (default: the first the principal can see).
    #[arg(long)]
    pub subscription: Option<String>,
    /// PEM CA certificate of the server.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
}

/// `galleon group …`.
#[derive(Subcommand, Debug)]
pub(crate) enum GroupCommand {
    /// Create (or update) a resource group.
    Create {
        #[arg(long, short = 'n', visible_alias = "resource-group", short_alias = 'g')]
        name: String,
        #[arg(long, short = 'l')]
        location: String,
    },
    /// Show a resource group.
    Show {
        #[arg(long, short = 'n', visible_alias = "resource-group", short_alias = 'g')]
        name: String,
    },
    /// List resource groups.
    List,
    /// Delete an empty resource group.
    Delete {
        #[arg(long, short = 'n', visible_alias = "resource-group", short_alias = 'g')]
        name: String,
        /// Do not prompt (accepted for az compatibility; galleon never prompts).
        #[arg(long, short = 'y')]
        yes: bool,
        #[arg(long)]
        no_wait: bool,
    },
}

/// `-g/--resource-group -r/--gallery-name`.
#[derive(Args, Debug)]
pub(crate) struct GalleryRef {
    #[arg(long, short = 'g')]
    pub resource_group: String,
    #[arg(long, short = 'r')]
    pub gallery_name: String,
}

/// … plus `-i/--gallery-image-definition`.
#[derive(Args, Debug)]
pub(crate) struct DefinitionRef {
    #[command(flatten)]
    pub gallery: GalleryRef,
    #[arg(long, short = 'i')]
    pub gallery_image_definition: String,
}

/// A retention policy's rules as flags.
#[derive(Args, Debug, Default)]
pub(crate) struct RetentionRules {
    /// Keep the newest this many versions; older ones are deleted.
    #[arg(long)]
    pub keep_latest: Option<u32>,
    /// Delete a version this many days after its end-of-life date.
    #[arg(long)]
    pub delete_after_end_of_life_days: Option<u32>,
    /// Whether versions excluded from latest count toward --keep-latest (default true);
    /// false keeps them uncounted.
    #[arg(long)]
    pub count_excluded_from_latest: Option<bool>,
}

/// `galleon sig image-definition retention …`.
#[derive(Subcommand, Debug)]
pub(crate) enum RetentionCommand {
    /// Set the policy (it replaces the one before); applied with each periodic collection and
    /// by `retention run`.
    Set {
        #[command(flatten)]
        definition: DefinitionRef,
        #[command(flatten)]
        rules: RetentionRules,
    },
    /// Show the policy.
    Show {
        #[command(flatten)]
        definition: DefinitionRef,
    },
    /// What the policy (or the rules given here) would delete now, and why each version stays.
    Preview {
        #[command(flatten)]
        definition: DefinitionRef,
        #[command(flatten)]
        rules: RetentionRules,
    },
    /// Apply the policy now (a durable operation) and print what it did.
    Run {
        #[command(flatten)]
        definition: DefinitionRef,
    },
    /// Remove the policy.
    Delete {
        #[command(flatten)]
        definition: DefinitionRef,
    },
}

/// … plus `-e/--gallery-image-version`.
#[derive(Args, Debug)]
pub(crate) struct VersionRef {
    #[command(flatten)]
    pub definition: DefinitionRef,
    #[arg(long, short = 'e')]
    pub gallery_image_version: String,
}

/// `galleon sig …`.
#[derive(Subcommand, Debug)]
pub(crate) enum SigCommand {
    /// Create a gallery.
    Create {
        #[command(flatten)]
        gallery: GalleryRef,
        /// Default: the resource group's location.
        #[arg(long, short = 'l')]
        location: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        description: Option<String>,
        /// Sharing: `Private` (default) or `Groups` (then `sig share add`).
        #[arg(long)]
        permissions: Option<String>,
        #[command(flatten)]
        soft_delete: SoftDeleteArgs,
        #[command(flatten)]
        community: CommunityArgs,
        #[arg(long)]
        no_wait: bool,
    },
    /// Show a gallery.
    Show {
        #[command(flatten)]
        gallery: GalleryRef,
        /// Also show the subscriptions and tenants it is shared with.
        #[arg(long)]
        sharing_groups: bool,
    },
    /// List galleries (in a resource group, or the subscription).
    List {
        #[arg(long, short = 'g')]
        resource_group: Option<String>,
    },
    /// Update a gallery (`--description`, `--permissions`, or az's generic --set/--add/--remove).
    Update {
        #[command(flatten)]
        gallery: GalleryRef,
        #[arg(long, allow_hyphen_values = true)]
        description: Option<String>,
        /// Sharing: `Private` or `Groups`.
        #[arg(long)]
        permissions: Option<String>,
        #[command(flatten)]
        soft_delete: SoftDeleteArgs,
        #[command(flatten)]
        community: CommunityArgs,
        #[command(flatten)]
        generic: GenericUpdate,
        #[arg(long)]
        no_wait: bool,
    },
    /// Delete a gallery.
    Delete {
        #[command(flatten)]
        gallery: GalleryRef,
        #[arg(long)]
        no_wait: bool,
    },
    /// Share a gallery with subscriptions and tenants (it must have `--permissions Groups`).
    #[command(subcommand)]
    Share(ShareCommand),
    /// List the galleries shared with the subscription (or, with `--shared-to tenant`, the tenant).
    ListShared {
        #[command(flatten)]
        at: SharedAt,
    },
    /// Show a gallery shared with the subscription.
    ShowShared {
        #[command(flatten)]
        gallery: SharedGalleryRef,
    },
    /// List the published community galleries (of a region, with `--location`).
    ListCommunity {
        #[arg(long, short = 'l')]
        location: Option<String>,
    },
    /// Show a published community gallery.
    ShowCommunity {
        #[command(flatten)]
        gallery: CommunityGalleryRef,
    },
    /// Image definitions.
    #[command(subcommand)]
    ImageDefinition(DefinitionCommand),
    /// Image versions.
    #[command(subcommand)]
    ImageVersion(VersionCommand),
}

/// A community gallery's publisher information (az sig create|update with `--permissions Community`).
#[derive(Args, Debug, Default)]
pub(crate) struct CommunityArgs {
    #[arg(long)]
    pub publisher_uri: Option<String>,
    #[arg(long, alias = "publisher-contact")]
    pub publisher_email: Option<String>,
    #[arg(long)]
    pub eula: Option<String>,
    #[arg(long)]
    pub public_name_prefix: Option<String>,
}

/// A community gallery: its region and public name.
#[derive(Args, Debug)]
pub(crate) struct CommunityGalleryRef {
    #[arg(long, short = 'l')]
    pub location: String,
    #[arg(long)]
    pub public_gallery_name: String,
}

/// `--soft-delete` and its periods (az sig create|update).
#[derive(Args, Debug, Default)]
pub(crate) struct SoftDeleteArgs {
    /// Keep deleted image versions restorable for a while (`true` or `false`).
    #[arg(long)]
    pub soft_delete: Option<bool>,
    /// Days a deleted version stays listed and restorable.
    #[arg(long)]
    pub soft_delete_retention_period: Option<u32>,
    /// Days after that it may still be restored.
    #[arg(long)]
    pub soft_delete_grace_period: Option<u32>,
}

/// `galleon sig share …` (az sig share).
#[derive(Subcommand, Debug)]
pub(crate) enum ShareCommand {
    /// Share the gallery with more subscriptions or tenants.
    Add(ShareIds),
    /// Stop sharing the gallery with some subscriptions or tenants.
    Remove(ShareIds),
    /// Make the gallery private again: every subscription and tenant removed.
    Reset {
        #[command(flatten)]
        gallery: GalleryRef,
    },
    /// Publish a community gallery (`--permissions Community`) to everyone.
    EnableCommunity {
        #[command(flatten)]
        gallery: GalleryRef,
    },
    /// Wait until the gallery's sharing change is done (`--updated`), or it exists or is gone.
    Wait {
        #[command(flatten)]
        gallery: GalleryRef,
        #[command(flatten)]
        condition: WaitFor,
        #[command(flatten)]
        timing: WaitTiming,
    },
}

/// The ids `sig share add|remove` take.
#[derive(Args, Debug)]
pub(crate) struct ShareIds {
    #[command(flatten)]
    pub gallery: GalleryRef,
    /// Subscription ids (space-separated).
    #[arg(long, num_args = 1..)]
    pub subscription_ids: Vec<String>,
    /// Tenant ids (space-separated).
    #[arg(long, num_args = 1..)]
    pub tenant_ids: Vec<String>,
}

/// Where shared galleries are listed: the region, and whose share.
#[derive(Args, Debug)]
pub(crate) struct SharedAt {
    #[arg(long, short = 'l')]
    pub location: String,
    /// `tenant`: what is shared with the caller's tenant (default: with the subscription).
    #[arg(long)]
    pub shared_to: Option<String>,
}

/// A shared gallery: its region and unique name.
#[derive(Args, Debug)]
pub(crate) struct SharedGalleryRef {
    #[arg(long, short = 'l')]
    pub location: String,
    #[arg(long)]
    pub gallery_unique_name: String,
}

/// `galleon sig image-definition …`.
#[derive(Subcommand, Debug)]
pub(crate) enum DefinitionCommand {
    /// Create an image definition.
    #[command(after_help = DEFINITION_EXAMPLE)]
    Create(Box<DefinitionCreate>),
    /// List the image definitions of a community gallery.
    ListCommunity {
        #[command(flatten)]
        gallery: CommunityGalleryRef,
    },
    /// Show an image definition of a community gallery.
    ShowCommunity {
        #[command(flatten)]
        gallery: CommunityGalleryRef,
        #[arg(long, short = 'i')]
        gallery_image_definition: String,
    },
    /// List the image definitions of a gallery shared with the subscription.
    ListShared {
        #[command(flatten)]
        gallery: SharedGalleryRef,
        #[arg(long)]
        shared_to: Option<String>,
    },
    /// Show an image definition of a gallery shared with the subscription.
    ShowShared {
        #[command(flatten)]
        gallery: SharedGalleryRef,
        #[arg(long, short = 'i')]
        gallery_image_definition: String,
    },
    /// Show an image definition.
    Show {
        #[command(flatten)]
        definition: DefinitionRef,
    },
    /// The definition's retention policy (galleon only): keep the newest N versions and/or
    /// delete versions D days after their end of life.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Which version `latest` resolves to in a region, and why each other version is not it
    /// (excluded, not replicated there, failed, soft deleted, a lower number…). galleon only.
    ExplainLatest {
        #[command(flatten)]
        definition: DefinitionRef,
        /// The region (`-r` is the gallery, as in az).
        #[arg(long, short = 'l', alias = "location")]
        region: String,
    },
    /// List a gallery's image definitions.
    List {
        #[command(flatten)]
        gallery: GalleryRef,
    },
    /// Update an image definition (`--end-of-life-date`, or --set/--add/--remove).
    Update {
        #[command(flatten)]
        definition: DefinitionRef,
        #[arg(long)]
        end_of_life_date: Option<String>,
        #[command(flatten)]
        generic: GenericUpdate,
        #[arg(long)]
        no_wait: bool,
    },
    /// Delete an image definition.
    Delete {
        #[command(flatten)]
        definition: DefinitionRef,
        #[arg(long)]
        no_wait: bool,
    },
}

/// `galleon sig image-version …`.
#[derive(Subcommand, Debug)]
pub(crate) enum VersionCommand {
    /// Create an image version and replicate it to its target regions.
    #[command(after_help = VERSION_EXAMPLE)]
    Create(Box<VersionCreate>),
    /// List a definition's soft-deleted versions.
    ListSoftDeleted {
        #[command(flatten)]
        definition: DefinitionRef,
    },
    /// Restore a soft-deleted version.
    Undelete {
        #[command(flatten)]
        version: VersionRef,
        #[arg(long)]
        no_wait: bool,
    },
    /// List the versions of a definition in a community gallery.
    ListCommunity {
        #[command(flatten)]
        gallery: CommunityGalleryRef,
        #[arg(long, short = 'i')]
        gallery_image_definition: String,
    },
    /// Show a version of a definition in a community gallery.
    ShowCommunity {
        #[command(flatten)]
        gallery: CommunityGalleryRef,
        #[arg(long, short = 'i')]
        gallery_image_definition: String,
        #[arg(long, short = 'e')]
        gallery_image_version: String,
    },
    /// List the versions of a definition in a gallery shared with the subscription.
    ListShared {
        #[command(flatten)]
        gallery: SharedGalleryRef,
        #[arg(long, short = 'i')]
        gallery_image_definition: String,
        #[arg(long)]
        shared_to: Option<String>,
    },
    /// Show a version of a definition in a gallery shared with the subscription.
    ShowShared {
        #[command(flatten)]
        gallery: SharedGalleryRef,
        #[arg(long, short = 'i')]
        gallery_image_definition: String,
        #[arg(long, short = 'e')]
        gallery_image_version: String,
    },
    /// Show an image version.
    Show {
        #[command(flatten)]
        version: VersionRef,
        /// `ReplicationStatus` adds each region's replication state.
        #[arg(long)]
        expand: Option<String>,
    },
    /// Check the version's signed provenance and re-hash every replica in every region
    /// (galleon only); fails unless everything verifies.
    Verify {
        #[command(flatten)]
        version: VersionRef,
    },
    /// Show the version's signed provenance: the JWS, its key id and the signed statement
    /// (galleon only).
    ShowProvenance {
        #[command(flatten)]
        version: VersionRef,
    },
    /// List an image definition's versions.
    List {
        #[command(flatten)]
        definition: DefinitionRef,
    },
    /// Update an image version: its target regions, replica count, latest and end of life,
    /// or anything with --set/--add/--remove.
    Update(Box<VersionUpdate>),
    /// Wait until an image version is created, updated, deleted or exists.
    Wait {
        #[command(flatten)]
        version: VersionRef,
        #[command(flatten)]
        condition: WaitFor,
        #[command(flatten)]
        timing: WaitTiming,
    },
    /// Delete an image version (and its replicas).
    Delete {
        #[command(flatten)]
        version: VersionRef,
        #[arg(long)]
        no_wait: bool,
    },
}

/// `galleon sig image-version create`.
#[derive(Args, Debug)]
pub(crate) struct VersionCreate {
    #[command(flatten)]
    pub version: VersionRef,
    /// `region`, `region=count`, `region=type` or `region=count=type`, space-separated.
    #[arg(long, num_args = 1..)]
    pub target_regions: Vec<String>,
    /// Default replica count per region.
    #[arg(long)]
    pub replica_count: Option<u32>,
    /// Default storage account type (Standard_LRS, Standard_ZRS, Premium_LRS).
    #[arg(long)]
    pub storage_account_type: Option<String>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub exclude_from_latest: Option<bool>,
    #[arg(long)]
    pub end_of_life_date: Option<String>,
    /// A managed image: its id, or its name in the resource group.
    #[arg(long)]
    pub managed_image: Option<String>,
    /// A VM's id.
    #[arg(long)]
    pub virtual_machine: Option<String>,
    /// Another image version's id.
    #[arg(long)]
    pub image_version: Option<String>,
    /// An OS snapshot or disk: its id, or a snapshot's name in the resource group.
    #[arg(long)]
    pub os_snapshot: Option<String>,
    /// An OS VHD's URL (with --os-vhd-storage-account).
    #[arg(long, requires = "os_vhd_storage_account")]
    pub os_vhd_uri: Option<String>,
    #[arg(long)]
    pub os_vhd_storage_account: Option<String>,
    /// Default: the gallery's location.
    #[arg(long, short = 'l')]
    pub location: Option<String>,
    #[arg(long)]
    pub no_wait: bool,
    /// Data disk sources: snapshot or disk ids (or snapshot names in the resource group).
    #[arg(long, num_args = 1..)]
    pub data_snapshots: Vec<String>,
    /// The LUN of each --data-snapshots value.
    #[arg(long, num_args = 1..)]
    pub data_snapshot_luns: Vec<u32>,
    /// Data disk sources: VHD URLs.
    #[arg(long, num_args = 1..)]
    pub data_vhds_uris: Vec<String>,
    /// The LUN of each --data-vhds-uris value.
    #[arg(long, num_args = 1..)]
    pub data_vhds_luns: Vec<u32>,
    /// Storage accounts (names or ids) of --data-vhds-uris: one for all, or one per URL.
    #[arg(long, num_args = 1..)]
    pub data_vhds_sa: Vec<String>,
}

/// `galleon sig image-definition create`.
#[derive(Args, Debug)]
pub(crate) struct DefinitionCreate {
    #[command(flatten)]
    pub definition: DefinitionRef,
    #[arg(long, short = 'p')]
    pub publisher: String,
    #[arg(long, short = 'f')]
    pub offer: String,
    #[arg(long, short = 's')]
    pub sku: String,
    /// Windows or Linux.
    #[arg(long)]
    pub os_type: String,
    /// Generalized (default) or Specialized.
    #[arg(long, default_value = "Generalized")]
    pub os_state: String,
    /// V1 or V2.
    #[arg(long)]
    pub hyper_v_generation: Option<String>,
    /// Space-separated `name=value` features (e.g. SecurityType=TrustedLaunch).
    #[arg(long)]
    pub features: Option<String>,
    #[arg(long)]
    pub end_of_life_date: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub description: Option<String>,
    /// Default: the gallery's location.
    #[arg(long, short = 'l')]
    pub location: Option<String>,
    #[arg(long)]
    pub no_wait: bool,
    /// Recommended vCPU and memory (GiB) ranges.
    #[arg(long)]
    pub minimum_cpu_core: Option<u32>,
    #[arg(long)]
    pub maximum_cpu_core: Option<u32>,
    #[arg(long)]
    pub minimum_memory: Option<u32>,
    #[arg(long)]
    pub maximum_memory: Option<u32>,
    #[arg(long)]
    pub plan_name: Option<String>,
    #[arg(long)]
    pub plan_product: Option<String>,
    #[arg(long)]
    pub plan_publisher: Option<String>,
}

/// `galleon disk …`.
#[derive(Subcommand, Debug)]
pub(crate) enum DiskCommand {
    /// Create a managed disk: empty (--size-gb), imported from a VHD URL, or copied from a disk
    /// or snapshot (--source).
    Create {
        #[command(flatten)]
        target: Named,
        /// A VHD's URL, or a disk's or snapshot's id or name.
        #[arg(long, conflicts_with = "gallery_image_reference")]
        source: Option<String>,
        /// A gallery image version's id (or `.../versions/latest`) to make the disk from.
        #[arg(long)]
        gallery_image_reference: Option<String>,
        /// With --gallery-image-reference: the data disk's LUN (default: the OS disk).
        #[arg(long, requires = "gallery_image_reference")]
        gallery_image_reference_lun: Option<u32>,
        #[arg(long, short = 'z')]
        size_gb: Option<u32>,
        /// `Upload`: an empty disk waiting for --upload-size-bytes of VHD (see `disk upload`).
        #[arg(long, requires = "upload_size_bytes")]
        upload_type: Option<String>,
        #[arg(long)]
        upload_size_bytes: Option<u64>,
        #[arg(long)]
        os_type: Option<String>,
        #[arg(long)]
        hyper_v_generation: Option<String>,
        /// The disk's storage type (az's default).
        #[arg(long, default_value = "Premium_LRS")]
        sku: String,
        /// Default: the resource group's location.
        #[arg(long, short = 'l')]
        location: Option<String>,
        #[arg(long)]
        no_wait: bool,
    },
    /// Show a disk.
    Show {
        #[command(flatten)]
        target: Named,
    },
    /// Upload a fixed VHD or a raw image (whole MiB) into a new disk (or one waiting for an
    /// upload); resumes an interrupted upload of the same file; checks the digest at the end.
    Upload {
        #[command(flatten)]
        target: Named,
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        os_type: Option<String>,
        #[arg(long)]
        hyper_v_generation: Option<String>,
        /// Default: the resource group's location.
        #[arg(long, short = 'l')]
        location: Option<String>,
    },
    /// Download a disk or snapshot as a fixed VHD; resumes an interrupted download; checks the
    /// digest at the end.
    Download {
        #[command(flatten)]
        target: Named,
        #[arg(long)]
        file: PathBuf,
        /// Check the image against its version's signed provenance (the disk must name an image
        /// version): the signature with the gallery's public key, and the digest signed for it.
        #[arg(long)]
        verify: bool,
    },
    /// List a resource group's disks.
    List {
        #[arg(long, short = 'g')]
        resource_group: String,
    },
    /// Delete a disk.
    Delete {
        #[command(flatten)]
        target: Named,
        #[arg(long, short = 'y')]
        yes: bool,
        #[arg(long)]
        no_wait: bool,
    },
}

/// `galleon image …` (managed images).
#[derive(Subcommand, Debug)]
pub(crate) enum ImageCommand {
    /// Create a managed image from a VM, a disk, a snapshot or a VHD URL.
    Create {
        #[command(flatten)]
        target: Named,
        /// A VM's, disk's or snapshot's id or name, or a VHD's URL.
        #[arg(long)]
        source: String,
        /// Windows or Linux (not needed with a VM source).
        #[arg(long)]
        os_type: Option<String>,
        #[arg(long)]
        hyper_v_generation: Option<String>,
        /// Default: the resource group's location.
        #[arg(long, short = 'l')]
        location: Option<String>,
        #[arg(long)]
        no_wait: bool,
    },
    /// Show a managed image.
    Show {
        #[command(flatten)]
        target: Named,
    },
    /// List a resource group's managed images.
    List {
        #[arg(long, short = 'g')]
        resource_group: String,
    },
    /// Delete a managed image.
    Delete {
        #[command(flatten)]
        target: Named,
        #[arg(long)]
        no_wait: bool,
    },
}

/// `-g/--resource-group -n/--name`.
#[derive(Args, Debug)]
pub(crate) struct Named {
    #[arg(long, short = 'g')]
    pub resource_group: String,
    #[arg(long, short = 'n')]
    pub name: String,
}

/// `galleon snapshot …`.
#[derive(Subcommand, Debug)]
pub(crate) enum SnapshotCommand {
    /// Create a snapshot of a disk or snapshot (--source id or name) or from a VHD URL.
    Create {
        #[command(flatten)]
        target: Named,
        #[arg(long)]
        source: String,
        /// Default: the resource group's location.
        #[arg(long, short = 'l')]
        location: Option<String>,
        #[arg(long)]
        no_wait: bool,
    },
    /// Show a snapshot.
    Show {
        #[command(flatten)]
        target: Named,
    },
    /// Delete a snapshot.
    Delete {
        #[command(flatten)]
        target: Named,
        #[arg(long)]
        no_wait: bool,
    },
}

/// `galleon vm …`.
#[derive(Subcommand, Debug)]
pub(crate) enum VmCommand {
    /// Create a VM record with an OS disk from an image (a version id, `…/images/{def}`,
    /// `…/versions/latest` or a managed image) or an existing disk.
    Create(Box<VmCreate>),
    /// Show a VM.
    Show {
        #[command(flatten)]
        target: Named,
    },
    /// List a resource group's VMs.
    List {
        #[arg(long, short = 'g')]
        resource_group: String,
    },
    /// Stop a VM (it keeps its resources).
    Stop {
        #[command(flatten)]
        target: Named,
    },
    /// Start a VM.
    Start {
        #[command(flatten)]
        target: Named,
    },
    /// Deallocate a VM.
    Deallocate {
        #[command(flatten)]
        target: Named,
    },
    /// Mark a stopped VM generalized, so images can be captured from it.
    Generalize {
        #[command(flatten)]
        target: Named,
    },
    /// Delete a VM.
    Delete {
        #[command(flatten)]
        target: Named,
        #[arg(long, short = 'y')]
        yes: bool,
        #[arg(long)]
        no_wait: bool,
    },
}

/// `galleon vm create`.
#[derive(Args, Debug)]
pub(crate) struct VmCreate {
    #[command(flatten)]
    pub target: Named,
    /// An image version id, `…/images/{definition}` (its latest), or a managed image id or name.
    #[arg(long, conflicts_with = "attach_os_disk")]
    pub image: Option<String>,
    /// An existing disk (id or name) to use as the OS disk.
    #[arg(long)]
    pub attach_os_disk: Option<String>,
    /// With --attach-os-disk: Windows or Linux.
    #[arg(long)]
    pub os_type: Option<String>,
    /// The VM size (az's default).
    #[arg(long, default_value = "Standard_D2s_v5")]
    pub size: String,
    #[arg(long)]
    pub admin_username: Option<String>,
    #[arg(long)]
    pub admin_password: Option<String>,
    /// Make ~/.ssh/id_rsa(.pub) with ssh-keygen if missing (Linux VMs without a password).
    #[arg(long)]
    pub generate_ssh_keys: bool,
    /// An SSH public key, or a file holding one (default: ~/.ssh/id_rsa.pub).
    #[arg(long)]
    pub ssh_key_values: Option<String>,
    /// New empty data disks, sizes in GiB.
    #[arg(long, num_args = 1..)]
    pub data_disk_sizes_gb: Vec<u64>,
    /// Existing data disks (ids or names).
    #[arg(long, num_args = 1..)]
    pub attach_data_disks: Vec<String>,
    /// Default: the resource group's location.
    #[arg(long, short = 'l')]
    pub location: Option<String>,
    #[arg(long)]
    pub no_wait: bool,
}

/// `galleon sig image-version update`.
#[derive(Args, Debug)]
pub(crate) struct VersionUpdate {
    #[command(flatten)]
    pub version: VersionRef,
    /// Replaces the target regions: `region`, `region=count`, `region=type`, `region=count=type`.
    #[arg(long, num_args = 1..)]
    pub target_regions: Vec<String>,
    #[arg(long)]
    pub replica_count: Option<u32>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub exclude_from_latest: Option<bool>,
    #[arg(long)]
    pub end_of_life_date: Option<String>,
    #[command(flatten)]
    pub generic: GenericUpdate,
    #[arg(long)]
    pub no_wait: bool,
}

/// `wait`'s condition, as az's: exactly one of them.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub(crate) struct WaitFor {
    /// Until provisioningState is Succeeded.
    #[arg(long)]
    pub created: bool,
    /// Until provisioningState is Succeeded (after an update).
    #[arg(long)]
    pub updated: bool,
    /// Until the resource is gone.
    #[arg(long)]
    pub deleted: bool,
    /// Until the resource exists.
    #[arg(long)]
    pub exists: bool,
}

impl WaitFor {
    /// Whether the resource as read (`None`: not found) meets the condition.
    pub(crate) fn met(&self, found: Option<&serde_json::Value>) -> bool {
        match found {
            None => self.deleted,
            Some(v) if self.created || self.updated => v["properties"]["provisioningState"] == "Succeeded",
            Some(_) => self.exists,
        }
    }
}

/// How long `wait` polls.
#[derive(Args, Debug)]
pub(crate) struct WaitTiming {
    /// Seconds between polls.
    #[arg(long, default_value_t = 2)]
    pub interval: u64,
    /// Seconds before giving up.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
}

/// `galleon operation …`: a long-running operation started with `--no-wait`.
#[derive(Subcommand, Debug)]
pub(crate) enum OperationCommand {
    /// Show an operation's status.
    Show {
        /// The `operation` URL `--no-wait` printed.
        #[arg(long)]
        id: String,
    },
    /// Wait for an operation to end; its final status is printed, a failure exits 1.
    Wait {
        #[arg(long)]
        id: String,
    },
}

/// `galleon gc …` (tenant owners only): garbage collection of region stores.
#[derive(Subcommand, Debug)]
pub(crate) enum GcCommand {
    /// Delete chunks no disk, snapshot, image or version references, now.
    Run {
        /// Spare unreferenced chunks younger than this (they may belong to an import in flight).
        #[arg(long, default_value_t = 3600)]
        grace_seconds: u64,
    },
    /// Whether a collection is running, when the periodic one is next due, and what the last
    /// one deleted in each store.
    Status,
}

/// `galleon event …`.
#[derive(Subcommand, Debug)]
pub(crate) enum EventCommand {
    /// Webhook subscriptions on the subscription, or on a gallery (-g and -r).
    #[command(subcommand)]
    Subscription(EventSubscriptionCommand),
}

/// Where a webhook subscription applies: the subscription, or a gallery.
#[derive(Args, Debug)]
pub(crate) struct EventTarget {
    #[arg(long, short = 'n')]
    pub name: String,
    /// With --gallery-name: the gallery's resource group.
    #[arg(long, short = 'g', requires = "gallery_name")]
    pub resource_group: Option<String>,
    /// Only this gallery's versions (default: every gallery of the subscription).
    #[arg(long, short = 'r', requires = "resource_group")]
    pub gallery_name: Option<String>,
}

/// `galleon event subscription …`.
#[derive(Subcommand, Debug)]
pub(crate) enum EventSubscriptionCommand {
    /// Create (or replace) a subscription; prints its HMAC secret once.
    Create {
        #[command(flatten)]
        target: EventTarget,
        /// Where events are POSTed (https; plain http to this machine only).
        #[arg(long)]
        endpoint: String,
        /// Only these event types (default: all).
        #[arg(long, num_args = 1..)]
        included_event_types: Vec<String>,
        /// The HMAC secret (default: a random one).
        #[arg(long)]
        secret: Option<String>,
    },
    /// List the subscriptions of the subscription, or of a gallery (-g and -r).
    List {
        #[arg(long, short = 'g', requires = "gallery_name")]
        resource_group: Option<String>,
        #[arg(long, short = 'r', requires = "resource_group")]
        gallery_name: Option<String>,
    },
    /// Show a subscription, with its pending events and dead letters counted.
    Show {
        #[command(flatten)]
        target: EventTarget,
    },
    /// Delete a subscription (its pending events and dead letters go with it).
    Delete {
        #[command(flatten)]
        target: EventTarget,
    },
    /// Send a `galleon.test` event through the subscription's outbox.
    Test {
        #[command(flatten)]
        target: EventTarget,
    },
    /// The events given up on after every retry, with their last error.
    DeadLetters {
        #[command(flatten)]
        target: EventTarget,
    },
}

/// `galleon region …` (tenant owners only): the regions served and their stores.
#[derive(Subcommand, Debug)]
pub(crate) enum RegionCommand {
    /// List the regions and their stores (storage type, backend).
    List,
    /// Show a region's stores with the chunks and bytes each holds (walks every store).
    Show {
        #[arg(long, short = 'r')]
        region: String,
    },
    /// Re-hash every chunk of a region's stores and repair corrupt or missing ones from a good
    /// copy elsewhere; prints each store's report.
    Scrub {
        #[arg(long, short = 'r')]
        region: String,
    },
}

/// `galleon keys …` (tenant owners only): the keys galleon signs access tokens with.
#[derive(Subcommand, Debug)]
pub(crate) enum KeysCommand {
    /// Add a new signing key: published at once, signing a minute later on every node; the key
    /// signing now keeps verifying, older ones are dropped.
    Rotate,
}

/// `galleon node …` (tenant owners only): the nodes serving from one database.
#[derive(Subcommand, Debug)]
pub(crate) enum NodeCommand {
    /// List the nodes, when each was last heard from, and which are unreachable.
    List,
}

/// `galleon principal …` (owners only): service principals that log in to galleon.
#[derive(Subcommand, Debug)]
pub(crate) enum PrincipalCommand {
    /// Create a service principal; its secret is printed once.
    Create {
        #[arg(long, short = 'n', default_value = "service principal")]
        display_name: String,
    },
    /// List service principals.
    List,
    /// Give a service principal a new secret (printed once; the old one stops working).
    ResetSecret {
        #[arg(long)]
        client_id: String,
    },
    /// Delete a service principal.
    Delete {
        #[arg(long)]
        client_id: String,
    },
}

/// `galleon subscription …`.
#[derive(Subcommand, Debug)]
pub(crate) enum SubscriptionCommand {
    /// Create a subscription; the caller owns it.
    Create {
        #[arg(long, short = 'n')]
        display_name: String,
    },
    /// List the subscriptions the caller has a role in.
    List,
}

/// `galleon role …`.
#[derive(Subcommand, Debug)]
pub(crate) enum RoleCommand {
    /// Role assignments (Owner, Contributor, Reader).
    #[command(subcommand)]
    Assignment(AssignmentCommand),
}

/// `galleon role assignment …`, with az's arguments.
#[derive(Subcommand, Debug)]
pub(crate) enum AssignmentCommand {
    /// Give a principal a role at a scope (subscription, resource group, gallery or definition).
    Create {
        /// A service principal's client id (or object id).
        #[arg(long, required_unless_present = "assignee_object_id")]
        assignee: Option<String>,
        #[arg(long, conflicts_with = "assignee")]
        assignee_object_id: Option<String>,
        /// Accepted for az compatibility (galleon's principals are service principals).
        #[arg(long)]
        assignee_principal_type: Option<String>,
        /// Owner, Contributor or Reader (or a role definition id).
        #[arg(long)]
        role: String,
        /// The scope's id.
        #[arg(long)]
        scope: String,
    },
    /// List role assignments at and under a scope (default: the subscription).
    List {
        #[arg(long)]
        scope: Option<String>,
        /// Only this principal's (client id or object id).
        #[arg(long)]
        assignee: Option<String>,
    },
    /// Delete role assignments by id.
    Delete {
        #[arg(long, num_args = 1.., required = true)]
        ids: Vec<String>,
    },
}
