//! A version's `securityProfile.uefiSettings`: the Secure Boot keys trusted-launch VMs made from
//! it start with. Either Microsoft templates plus extra `db`/`dbx` entries ("append"), or
//! `NoSignatureTemplate` with the whole key hierarchy `pk`/`kek`/`db`/`dbx` ("replace").

use crate::Invalid;
use crate::enums::arm_enum;
use crate::image_definition::{Feature, security_type};

arm_enum!(
    /// `uefiSettings.signatureTemplateNames[]`.
    SignatureTemplate {
        /// No Microsoft keys: the request gives the whole hierarchy.
        NoSignatureTemplate => "NoSignatureTemplate",
        /// Microsoft's third-party UEFI CA.
        MicrosoftUefiCertificateAuthority => "MicrosoftUefiCertificateAuthorityTemplate",
        /// Microsoft Windows keys.
        MicrosoftWindows => "MicrosoftWindowsTemplate",
    }
);

arm_enum!(
    /// `UefiKey.type`.
    UefiKeyType {
        /// SHA-256 digests (32 bytes each).
        Sha256 => "sha256",
        /// DER X.509 certificates.
        X509 => "x509",
    }
);

/// One key entry: its type and base64 values.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UefiKey {
    /// sha256 or x509.
    pub kind: UefiKeyType,
    /// Base64 values.
    pub value: Vec<String>,
}

/// Validated UEFI settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UefiSettings {
    /// Templates.
    pub signature_template_names: Vec<SignatureTemplate>,
    /// Platform key.
    pub pk: Option<UefiKey>,
    /// Key exchange keys.
    pub kek: Vec<UefiKey>,
    /// Allowed signatures.
    pub db: Vec<UefiKey>,
    /// Forbidden signatures.
    pub dbx: Vec<UefiKey>,
}

/// A key as a request gives it.
#[derive(Debug, Clone, Default)]
pub struct UefiKeyRequest {
    /// `type` as sent.
    pub kind: Option<String>,
    /// `value` as sent.
    pub value: Option<Vec<String>>,
}

/// `uefiSettings` as a request gives it.
#[derive(Debug, Clone, Default)]
pub struct UefiRequest {
    /// `signatureTemplateNames`.
    pub signature_template_names: Option<Vec<String>>,
    /// `additionalSignatures.pk`.
    pub pk: Option<UefiKeyRequest>,
    /// `additionalSignatures.kek`.
    pub kek: Option<Vec<UefiKeyRequest>>,
    /// `additionalSignatures.db`.
    pub db: Option<Vec<UefiKeyRequest>>,
    /// `additionalSignatures.dbx`.
    pub dbx: Option<Vec<UefiKeyRequest>>,
}

const T: &str = "galleryImageVersion.properties.securityProfile.uefiSettings";

/// The length base64 `text` decodes to, if it is canonical standard base64.
fn base64_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return None;
    }
    let pad = bytes.iter().rev().take_while(|b| **b == b'=').count();
    let body = &bytes[..bytes.len() - pad];
    (pad <= 2 && body.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/'))
        .then(|| bytes.len() / 4 * 3 - pad)
}

fn key(target: &str, k: &UefiKeyRequest) -> Result<UefiKey, Invalid> {
    let kind = UefiKeyType::parse(
        &format!("{target}.type"),
        k.kind.as_deref().ok_or_else(|| {
            Invalid::param(format!("{target}.type"), format!("'{target}.type' is required: sha256 or x509."))
        })?,
    )?;
    let value = k.value.clone().unwrap_or_default();
    if value.is_empty() {
        return Err(Invalid::param(
            format!("{target}.value"),
            format!("'{target}.value' needs at least one base64 value."),
        ));
    }
    for v in &value {
        let ok = match (base64_len(v), kind) {
            (Some(32), UefiKeyType::Sha256) => true,
            (Some(n), UefiKeyType::X509) => n > 0 && v.starts_with("MI"),
            _ => false,
        };
        if !ok {
            let what = match kind {
                UefiKeyType::Sha256 => "a base64 SHA-256 digest (32 bytes)",
                UefiKeyType::X509 => "a base64 DER X.509 certificate",
            };
            return Err(Invalid::param(
                format!("{target}.value"),
                format!("A value of '{target}.value' is not {what}."),
            ));
        }
    }
    Ok(UefiKey { kind, value })
}

fn keys(target: &str, ks: &Option<Vec<UefiKeyRequest>>) -> Result<Vec<UefiKey>, Invalid> {
    ks.iter().flatten().enumerate().map(|(i, k)| key(&format!("{target}[{i}]"), k)).collect()
}

impl UefiSettings {
    /// Validates a request: known templates, `NoSignatureTemplate` alone and with a platform
    /// key, keys of a known type with well-formed values.
    pub fn parse(req: &UefiRequest) -> Result<Self, Invalid> {
        let names = req.signature_template_names.clone().unwrap_or_default();
        if names.is_empty() {
            return Err(Invalid::param(
                format!("{T}.signatureTemplateNames"),
                "'signatureTemplateNames' needs a template, or NoSignatureTemplate with the keys.",
            ));
        }
        let templates = names
            .iter()
            .map(|n| SignatureTemplate::parse(&format!("{T}.signatureTemplateNames"), n))
            .collect::<Result<Vec<_>, _>>()?;
        let extra = format!("{T}.additionalSignatures");
        let settings = Self {
            pk: req.pk.as_ref().map(|k| key(&format!("{extra}.pk"), k)).transpose()?,
            kek: keys(&format!("{extra}.kek"), &req.kek)?,
            db: keys(&format!("{extra}.db"), &req.db)?,
            dbx: keys(&format!("{extra}.dbx"), &req.dbx)?,
            signature_template_names: templates,
        };
        let replace = settings.signature_template_names.contains(&SignatureTemplate::NoSignatureTemplate);
        if replace && settings.signature_template_names.len() > 1 {
            return Err(Invalid::param(
                format!("{T}.signatureTemplateNames"),
                "NoSignatureTemplate replaces every template: give it alone.",
            ));
        }
        if replace && settings.pk.is_none() {
            return Err(Invalid::param(
                format!("{extra}.pk"),
                "With NoSignatureTemplate the platform key 'pk' is required (it replaces Microsoft's).",
            ));
        }
        if !replace && (settings.pk.is_some() || !settings.kek.is_empty()) {
            return Err(Invalid::param(
                format!("{extra}.pk"),
                "'pk' and 'kek' replace the platform keys: use them with NoSignatureTemplate; with a template, add 'db' and 'dbx' entries only.",
            ));
        }
        Ok(settings)
    }

    /// UEFI settings apply to definitions that support trusted launch.
    pub fn check_definition(features: &[Feature]) -> Result<(), Invalid> {
        match security_type(features) {
            Some(t)
                if t.eq_ignore_ascii_case("TrustedLaunchSupported")
                    || t.eq_ignore_ascii_case("TrustedLaunchAndConfidentialVmSupported") =>
            {
                Ok(())
            }
            other => Err(Invalid::param(
                T,
                format!(
                    "UEFI settings need an image definition with SecurityType TrustedLaunchSupported or TrustedLaunchAndConfidentialVmSupported; this one has {}.",
                    other.unwrap_or("none")
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "3q2+7w3q2+7w3q2+7w3q2+7w3q2+7w3q2+7w3q2+7w0=";
    const CERT: &str = "MIIBszCCAVmgAwIBAgIU";

    fn k(kind: &str, v: &str) -> UefiKeyRequest {
        UefiKeyRequest { kind: Some(kind.into()), value: Some(vec![v.into()]) }
    }

    #[test]
    fn append_and_replace_are_the_two_shapes() {
        let append = UefiRequest {
            signature_template_names: Some(vec!["MicrosoftUefiCertificateAuthorityTemplate".into()]),
            db: Some(vec![k("x509", CERT)]),
            dbx: Some(vec![k("sha256", SHA)]),
            ..Default::default()
        };
        let s = UefiSettings::parse(&append).unwrap();
        assert_eq!(s.db[0].kind, UefiKeyType::X509);
        let replace = UefiRequest {
            signature_template_names: Some(vec!["NoSignatureTemplate".into()]),
            pk: Some(k("x509", CERT)),
            kek: Some(vec![k("x509", CERT)]),
            ..Default::default()
        };
        assert!(UefiSettings::parse(&replace).is_ok());
        for bad in [
            UefiRequest { signature_template_names: Some(vec![]), ..Default::default() },
            UefiRequest { signature_template_names: Some(vec!["Nope".into()]), ..Default::default() },
            UefiRequest { signature_template_names: Some(vec!["NoSignatureTemplate".into()]), ..Default::default() },
            UefiRequest {
                signature_template_names: Some(vec!["NoSignatureTemplate".into(), "MicrosoftWindowsTemplate".into()]),
                pk: Some(k("x509", CERT)),
                ..Default::default()
            },
            UefiRequest { pk: Some(k("x509", CERT)), ..append.clone() },
            UefiRequest { db: Some(vec![k("sha256", "not base64!")]), ..append.clone() },
            UefiRequest { db: Some(vec![k("sha256", CERT)]), ..append.clone() },
            UefiRequest { db: Some(vec![k("md5", SHA)]), ..append.clone() },
            UefiRequest { db: Some(vec![UefiKeyRequest { kind: Some("x509".into()), value: Some(vec![]) }]), ..append },
        ] {
            assert!(UefiSettings::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_trusted_launch_definitions_take_uefi_settings() {
        let f = |v: &str| vec![Feature { name: "SecurityType".into(), value: v.into(), starts_at_version: None }];
        assert!(UefiSettings::check_definition(&f("TrustedLaunchSupported")).is_ok());
        assert!(UefiSettings::check_definition(&f("trustedlaunchandconfidentialvmsupported")).is_ok());
        assert!(UefiSettings::check_definition(&f("TrustedLaunch")).is_err());
        assert!(UefiSettings::check_definition(&[]).is_err());
    }
}
