//! A version's `securityProfile` on the wire: `uefiSettings` (served); anything else in it
//! (`secretsProvisioningSettings`, …) is refused by name, never dropped.

use galleon_model::Invalid;
use galleon_model::uefi::{UefiKey, UefiKeyRequest, UefiRequest, UefiSettings};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `properties.securityProfile`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecurityProfileWire {
    /// Secure Boot keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uefi_settings: Option<UefiWire>,
    /// Whatever else a client sends: refused.
    #[serde(flatten, default, skip_serializing)]
    pub other: Map<String, Value>,
}

/// `uefiSettings`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UefiWire {
    /// Template names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_template_names: Option<Vec<String>>,
    /// Extra keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_signatures: Option<SignaturesWire>,
}

/// `additionalSignatures`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SignaturesWire {
    /// Platform key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pk: Option<KeyWire>,
    /// Key exchange keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kek: Option<Vec<KeyWire>>,
    /// Allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<Vec<KeyWire>>,
    /// Forbidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dbx: Option<Vec<KeyWire>>,
}

/// `UefiKey`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct KeyWire {
    /// `sha256` or `x509`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Base64 values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Vec<String>>,
}

fn key_request(k: KeyWire) -> UefiKeyRequest {
    UefiKeyRequest { kind: k.kind, value: k.value }
}

/// The request's UEFI settings, refusing what else the profile holds.
pub fn to_request(p: SecurityProfileWire) -> Result<Option<UefiRequest>, Invalid> {
    if let Some(name) = p.other.keys().next() {
        return Err(Invalid::param(
            format!("properties.securityProfile.{name}"),
            format!("The property 'properties.securityProfile.{name}' is not supported by galleon."),
        ));
    }
    Ok(p.uefi_settings.map(|u| {
        let extra = u.additional_signatures.unwrap_or_default();
        let many = |ks: Option<Vec<KeyWire>>| ks.map(|ks| ks.into_iter().map(key_request).collect());
        UefiRequest {
            signature_template_names: u.signature_template_names,
            pk: extra.pk.map(key_request),
            kek: many(extra.kek),
            db: many(extra.db),
            dbx: many(extra.dbx),
        }
    }))
}

fn key_wire(k: &UefiKey) -> KeyWire {
    KeyWire { kind: Some(k.kind.as_str().into()), value: Some(k.value.clone()) }
}

/// The stored settings as ARM shows them.
pub fn to_wire(u: &UefiSettings) -> SecurityProfileWire {
    let many = |ks: &[UefiKey]| (!ks.is_empty()).then(|| ks.iter().map(key_wire).collect());
    SecurityProfileWire {
        uefi_settings: Some(UefiWire {
            signature_template_names: Some(u.signature_template_names.iter().map(|t| t.as_str().into()).collect()),
            additional_signatures: Some(SignaturesWire {
                pk: u.pk.as_ref().map(key_wire),
                kek: many(&u.kek),
                db: many(&u.db),
                dbx: many(&u.dbx),
            }),
        }),
        other: Map::new(),
    }
}
