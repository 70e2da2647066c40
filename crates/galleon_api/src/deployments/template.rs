//! ARM template evaluation, as far as galleon deploys templates: parameters (with defaults),
//! variables, the template functions `parameters`, `variables`, `concat`, `resourceId`,
//! `resourceGroup`, `subscription`, `toLower`, `toUpper` and `format`-free string building, and
//! `dependsOn` ordering. Copy loops, nested templates, child resources and runtime functions
//! (`reference`, `listKeys`, `copyIndex`) are refused with `InvalidTemplate` before anything is
//! deployed. Pure: the same template and parameters always give the same plan.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// Where a template is deployed.
pub(crate) struct Scope<'a> {
    pub subscription: &'a str,
    pub resource_group: &'a str,
    pub location: &'a str,
}

/// One resource to PUT, in deployment order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Planned {
    /// `Microsoft.Network/virtualNetworks`.
    pub resource_type: String,
    /// `vm1VNET` (nested types: `parent/child`).
    pub name: String,
    pub api_version: String,
    /// The PUT body: `location`, `tags`, `properties`, `sku`, `zones`, `plan`, `identity`, `kind`.
    pub body: Value,
    /// The resource's id in the scope.
    pub id: String,
}

/// Why a template cannot be deployed (ARM's `InvalidTemplate`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InvalidTemplate(pub String);

type R<T> = Result<T, InvalidTemplate>;

fn invalid<T>(message: impl Into<String>) -> R<T> {
    Err(InvalidTemplate(message.into()))
}

/// The resource id of `type` + `name` segments in the scope.
pub(crate) fn resource_id(sub: &str, rg: &str, resource_type: &str, names: &[&str]) -> R<String> {
    let mut parts = resource_type.split('/');
    let namespace = parts.next().unwrap_or_default();
    let types: Vec<&str> = parts.collect();
    if namespace.is_empty() || types.is_empty() || types.len() != names.len() {
        return invalid(format!(
            "The resource type '{resource_type}' and name '{}' do not match: a name needs one segment per type segment.",
            names.join("/")
        ));
    }
    let mut id = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace}");
    for (t, n) in types.iter().zip(names) {
        id.push_str(&format!("/{t}/{n}"));
    }
    Ok(id)
}

/// Evaluates a template with its parameters (`{"name": {"value": …}}`) into an ordered plan.
pub(crate) fn plan(template: &Value, parameters: &Value, scope: &Scope<'_>) -> R<Vec<Planned>> {
    if template.get("$schema").and_then(Value::as_str).is_some_and(|s| s.contains("subscriptionDeploymentTemplate")) {
        return invalid("Only resource-group deployment templates are supported.");
    }
    let mut ctx = Ctx { scope, parameters: BTreeMap::new(), variables: Map::new() };
    ctx.parameters = bind_parameters(template, parameters)?;
    let mut variables = Map::new();
    for (k, v) in template["variables"].as_object().cloned().unwrap_or_default() {
        if k == "copy" {
            return invalid("Variable copy loops are not supported.");
        }
        // Variables may use earlier variables.
        ctx.variables = variables.clone();
        variables.insert(k, ctx.eval_value(&v)?);
    }
    ctx.variables = variables;
    let resources = template["resources"].as_array().cloned().unwrap_or_default();
    if template["resources"].is_object() {
        return invalid("Symbolic-name resources (languageVersion 2.0) are not supported.");
    }
    let mut planned = vec![];
    let mut depends: Vec<Vec<String>> = vec![];
    for (i, r) in resources.iter().enumerate() {
        for unsupported in ["copy", "resources", "condition", "scope"] {
            if r.get(unsupported).is_some() {
                return invalid(format!("Resource {i} uses '{unsupported}', which galleon does not deploy."));
            }
        }
        let ty = ctx.eval_string(&r["type"], &format!("resources[{i}].type"))?;
        let name = ctx.eval_string(&r["name"], &format!("resources[{i}].name"))?;
        let api_version = ctx.eval_string(&r["apiVersion"], &format!("resources[{i}].apiVersion"))?;
        if ty.eq_ignore_ascii_case("Microsoft.Resources/deployments") {
            return invalid("Nested deployments are not supported.");
        }
        let names: Vec<&str> = name.split('/').collect();
        let id = resource_id(scope.subscription, scope.resource_group, &ty, &names)?;
        let mut body = Map::new();
        for key in ["location", "tags", "properties", "sku", "zones", "plan", "identity", "kind"] {
            if let Some(v) = r.get(key).filter(|v| !v.is_null()) {
                body.insert(key.to_string(), ctx.eval_value(v)?);
            }
        }
        let mut deps = vec![];
        for d in r["dependsOn"].as_array().into_iter().flatten() {
            let d = ctx.eval_string(d, &format!("resources[{i}].dependsOn"))?;
            deps.push(dependency_key(&d));
        }
        depends.push(deps);
        planned.push(Planned { resource_type: ty, name, api_version, body: Value::Object(body), id });
    }
    order(planned, depends)
}

/// `Microsoft.Network/virtualNetworks/vnet1` or a full id → `microsoft.network/virtualnetworks/vnet1`.
fn dependency_key(d: &str) -> String {
    let d = d.to_ascii_lowercase();
    match d.find("/providers/") {
        Some(i) => d[i + "/providers/".len()..].to_string(),
        None => d,
    }
}

fn resource_key(p: &Planned) -> String {
    let mut parts = p.resource_type.split('/');
    let mut key = parts.next().unwrap_or_default().to_string();
    for (t, n) in parts.zip(p.name.split('/')) {
        key.push_str(&format!("/{t}/{n}"));
    }
    key.to_ascii_lowercase()
}

/// Orders resources so each comes after what it depends on (stable otherwise); unknown
/// dependencies and cycles are refused.
fn order(planned: Vec<Planned>, depends: Vec<Vec<String>>) -> R<Vec<Planned>> {
    let keys: Vec<String> = planned.iter().map(resource_key).collect();
    for (i, deps) in depends.iter().enumerate() {
        for d in deps {
            if !keys.contains(d) {
                return invalid(format!(
                    "The resource '{}' is not defined in the template (dependsOn of '{}').",
                    d, planned[i].name
                ));
            }
        }
    }
    let mut done = vec![false; planned.len()];
    let mut out = vec![];
    while out.len() < planned.len() {
        let next = (0..planned.len()).find(|&i| {
            !done[i] && depends[i].iter().all(|d| keys.iter().enumerate().any(|(j, k)| *k == *d && done[j]))
        });
        let Some(i) = next else {
            return invalid("The template's dependsOn form a cycle.");
        };
        done[i] = true;
        out.push(planned[i].clone());
    }
    Ok(out)
}

fn bind_parameters(template: &Value, given: &Value) -> R<BTreeMap<String, Value>> {
    let defs = template["parameters"].as_object().cloned().unwrap_or_default();
    let given = given.as_object().cloned().unwrap_or_default();
    for name in given.keys() {
        if !defs.keys().any(|d| d.eq_ignore_ascii_case(name)) {
            return invalid(format!(
                "The template parameter '{name}' is not valid; it is not defined in the template."
            ));
        }
    }
    let mut out = BTreeMap::new();
    for (name, def) in defs {
        let supplied = given.iter().find(|(k, _)| k.eq_ignore_ascii_case(&name)).map(|(_, v)| v);
        let value = match supplied {
            Some(v) if v.get("reference").is_some() => {
                return invalid(format!("Parameter '{name}' is a Key Vault reference; galleon has no Key Vault."));
            }
            Some(v) => v["value"].clone(),
            None => match def.get("defaultValue") {
                Some(d) => d.clone(),
                None => return invalid(format!("The value for the template parameter '{name}' is not provided.")),
            },
        };
        if let Some(allowed) = def["allowedValues"].as_array()
            && !allowed.contains(&value)
        {
            return invalid(format!(
                "The provided value for the template parameter '{name}' is not valid. It is not part of the allowed values."
            ));
        }
        out.insert(name.to_ascii_lowercase(), value);
    }
    Ok(out)
}

struct Ctx<'a> {
    scope: &'a Scope<'a>,
    parameters: BTreeMap<String, Value>,
    variables: Map<String, Value>,
}

impl Ctx<'_> {
    fn eval_value(&self, v: &Value) -> R<Value> {
        Ok(match v {
            Value::String(s) => self.eval_str(s)?,
            Value::Array(a) => Value::Array(a.iter().map(|x| self.eval_value(x)).collect::<R<_>>()?),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, x)| Ok((k.clone(), self.eval_value(x)?))).collect::<R<_>>()?)
            }
            other => other.clone(),
        })
    }

    fn eval_string(&self, v: &Value, what: &str) -> R<String> {
        match self.eval_value(v)? {
            Value::String(s) if !s.is_empty() => Ok(s),
            _ => invalid(format!("'{what}' must be a non-empty string.")),
        }
    }

    /// A JSON string: an expression when it is `[...]`, `[[` escaping a literal `[`.
    fn eval_str(&self, s: &str) -> R<Value> {
        if let Some(rest) = s.strip_prefix("[[") {
            return Ok(Value::String(format!("[{rest}")));
        }
        match s.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
            Some(expr) => {
                let mut p = Parser { src: expr.as_bytes(), pos: 0 };
                let value = p.expr(self)?;
                p.skip_ws();
                if p.pos != p.src.len() {
                    return invalid(format!(
                        "The template language expression '{expr}' is not valid: unexpected text at position {}.",
                        p.pos
                    ));
                }
                Ok(value)
            }
            None => Ok(Value::String(s.to_string())),
        }
    }

    fn call(&self, name: &str, args: Vec<Value>) -> R<Value> {
        let arg_str = |i: usize| -> R<String> {
            match args.get(i) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                _ => {
                    invalid(format!("The template function '{name}' expects a string argument at position {}.", i + 1))
                }
            }
        };
        match name.to_ascii_lowercase().as_str() {
            "parameters" => {
                let n = arg_str(0)?;
                self.parameters
                    .get(&n.to_ascii_lowercase())
                    .cloned()
                    .map_or_else(|| invalid(format!("The template parameter '{n}' is not found.")), Ok)
            }
            "variables" => {
                let n = arg_str(0)?;
                self.variables
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&n))
                    .map(|(_, v)| v.clone())
                    .map_or_else(|| invalid(format!("The template variable '{n}' is not found.")), Ok)
            }
            "concat" => {
                if args.iter().all(Value::is_array) && !args.is_empty() {
                    return Ok(Value::Array(
                        args.into_iter().flat_map(|a| a.as_array().cloned().unwrap_or_default()).collect(),
                    ));
                }
                let mut s = String::new();
                for (i, _) in args.iter().enumerate() {
                    s.push_str(&arg_str(i)?);
                }
                Ok(Value::String(s))
            }
            "tolower" => Ok(Value::String(arg_str(0)?.to_lowercase())),
            "toupper" => Ok(Value::String(arg_str(0)?.to_uppercase())),
            "string" => Ok(Value::String(match args.first() {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            })),
            "resourcegroup" => Ok(json!({
                "id": format!("/subscriptions/{}/resourceGroups/{}", self.scope.subscription, self.scope.resource_group),
                "name": self.scope.resource_group,
                "location": self.scope.location,
            })),
            "subscription" => Ok(json!({
                "id": format!("/subscriptions/{}", self.scope.subscription),
                "subscriptionId": self.scope.subscription,
            })),
            "resourceid" => {
                let strings: Vec<String> = (0..args.len()).map(arg_str).collect::<R<_>>()?;
                let at = strings.iter().position(|s| s.contains('/') && !s.starts_with('/')).map_or_else(
                    || invalid("resourceId needs a resource type such as 'Microsoft.Network/virtualNetworks'."),
                    Ok,
                )?;
                let (sub, rg) = match at {
                    0 => (self.scope.subscription.to_string(), self.scope.resource_group.to_string()),
                    1 => (self.scope.subscription.to_string(), strings[0].clone()),
                    _ => (strings[0].clone(), strings[1].clone()),
                };
                let names: Vec<&str> = strings[at + 1..].iter().map(String::as_str).collect();
                Ok(Value::String(resource_id(&sub, &rg, &strings[at], &names)?))
            }
            other => invalid(format!(
                "The template function '{other}' is not supported by galleon (runtime functions such as reference, listKeys and copyIndex need resources galleon does not run)."
            )),
        }
    }
}

/// A recursive-descent parser of template language expressions.
struct Parser<'s> {
    src: &'s [u8],
    pos: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.src.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: u8) -> R<()> {
        self.skip_ws();
        if self.src.get(self.pos) == Some(&c) {
            self.pos += 1;
            Ok(())
        } else {
            invalid(format!(
                "The template language expression is not valid: expected '{}' at position {}.",
                c as char, self.pos
            ))
        }
    }

    fn expr(&mut self, ctx: &Ctx<'_>) -> R<Value> {
        self.skip_ws();
        let mut value = match self.src.get(self.pos) {
            Some(b'\'') => self.string()?,
            Some(c) if c.is_ascii_digit() || *c == b'-' => self.number()?,
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self.src.get(self.pos).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
                    self.pos += 1;
                }
                let name = String::from_utf8_lossy(&self.src[start..self.pos]).to_string();
                match name.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    _ => {
                        self.expect(b'(')?;
                        let mut args = vec![];
                        self.skip_ws();
                        if self.src.get(self.pos) == Some(&b')') {
                            self.pos += 1;
                        } else {
                            loop {
                                args.push(self.expr(ctx)?);
                                self.skip_ws();
                                match self.src.get(self.pos) {
                                    Some(b',') => self.pos += 1,
                                    Some(b')') => {
                                        self.pos += 1;
                                        break;
                                    }
                                    _ => {
                                        return invalid(format!(
                                            "The template language expression is not valid: expected ',' or ')' at position {}.",
                                            self.pos
                                        ));
                                    }
                                }
                            }
                        }
                        ctx.call(&name, args)?
                    }
                }
            }
            _ => return invalid(format!("The template language expression is not valid at position {}.", self.pos)),
        };
        // Property access and indexing: `.location`, `['name']`, `[0]`.
        loop {
            self.skip_ws();
            match self.src.get(self.pos) {
                Some(b'.') => {
                    self.pos += 1;
                    let start = self.pos;
                    while self.src.get(self.pos).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
                        self.pos += 1;
                    }
                    let prop = String::from_utf8_lossy(&self.src[start..self.pos]).to_string();
                    value = property(&value, &prop)?;
                }
                Some(b'[') => {
                    self.pos += 1;
                    let index = self.expr(ctx)?;
                    self.expect(b']')?;
                    value = match (&index, &value) {
                        (Value::Number(n), Value::Array(a)) => a
                            .get(n.as_u64().unwrap_or(u64::MAX) as usize)
                            .cloned()
                            .map_or_else(|| invalid("Index out of range."), Ok)?,
                        (Value::String(s), _) => property(&value, s)?,
                        _ => return invalid("Invalid index in a template language expression."),
                    };
                }
                _ => return Ok(value),
            }
        }
    }

    fn string(&mut self) -> R<Value> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.src.get(self.pos) {
                Some(b'\'') if self.src.get(self.pos + 1) == Some(&b'\'') => {
                    out.push('\'');
                    self.pos += 2;
                }
                Some(b'\'') => {
                    self.pos += 1;
                    return Ok(Value::String(out));
                }
                Some(_) => {
                    // Copy one UTF-8 character.
                    let rest = std::str::from_utf8(&self.src[self.pos..])
                        .map_err(|_| InvalidTemplate("Invalid UTF-8.".into()))?;
                    let c = rest.chars().next().expect("non-empty");
                    out.push(c);
                    self.pos += c.len_utf8();
                }
                None => return invalid("The template language expression has an unterminated string."),
            }
        }
    }

    fn number(&mut self) -> R<Value> {
        let start = self.pos;
        self.pos += 1;
        while self.src.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        let text = String::from_utf8_lossy(&self.src[start..self.pos]);
        text.parse::<i64>().map(Value::from).map_err(|_| InvalidTemplate(format!("'{text}' is not a number.")))
    }
}

fn property(value: &Value, prop: &str) -> R<Value> {
    value
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(prop)).map(|(_, v)| v.clone()))
        .map_or_else(|| invalid(format!("The template language expression property '{prop}' doesn't exist.")), Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCOPE: Scope<'static> = Scope { subscription: "s1", resource_group: "rg", location: "eastus" };

    #[test]
    fn orders_by_depends_on_and_builds_ids() {
        let t = json!({ "resources": [
            { "type": "Microsoft.Compute/virtualMachines", "name": "vm1", "apiVersion": "2024-11-01", "location": "eastus",
              "dependsOn": ["Microsoft.Network/networkInterfaces/nic1"], "properties": {} },
            { "type": "Microsoft.Network/networkInterfaces", "name": "nic1", "apiVersion": "2022-01-01",
              "dependsOn": ["[resourceId('Microsoft.Network/virtualNetworks', 'v1')]"], "properties": {} },
            { "type": "Microsoft.Network/virtualNetworks", "name": "v1", "apiVersion": "2015-06-15", "properties": {} },
        ]});
        let p = plan(&t, &json!({}), &SCOPE).unwrap();
        assert_eq!(p.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["v1", "nic1", "vm1"]);
        assert_eq!(p[0].id, "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v1");
        assert_eq!(p[2].body, json!({ "location": "eastus", "properties": {} }));
    }

    #[test]
    fn evaluates_parameters_variables_and_functions() {
        let t = json!({
            "parameters": { "name": { "type": "string" }, "size": { "type": "string", "defaultValue": "Standard_D2s_v5" } },
            "variables": { "nic": "[concat(parameters('name'), 'Nic')]", "loc": "[resourceGroup().location]" },
            "resources": [{ "type": "Microsoft.Network/networkInterfaces", "name": "[variables('nic')]", "apiVersion": "2022-01-01",
                "location": "[variables('loc')]",
                "properties": { "size": "[parameters('size')]", "literal": "[[not an expression]", "id": "[resourceId('other', 'Microsoft.Network/virtualNetworks/subnets', 'v', 's')]",
                    "lower": "[toLower('ABC')]", "quote": "[concat('it''s', ' ', subscription().subscriptionId)]" } }]
        });
        let p = plan(&t, &json!({ "name": { "value": "vm1" } }), &SCOPE).unwrap();
        assert_eq!(p[0].name, "vm1Nic");
        assert_eq!(p[0].body["location"], "eastus");
        let props = &p[0].body["properties"];
        assert_eq!(props["size"], "Standard_D2s_v5");
        assert_eq!(props["literal"], "[not an expression]");
        assert_eq!(
            props["id"],
            "/subscriptions/s1/resourceGroups/other/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
        );
        assert_eq!(props["lower"], "abc");
        assert_eq!(props["quote"], "it's s1");
    }

    #[test]
    fn refuses_what_it_cannot_deploy() {
        let base = |r: Value| json!({ "resources": [r] });
        let cases = [
            (base(json!({ "type": "A.B/c", "name": "x", "apiVersion": "1", "copy": { "count": 2 } })), "copy"),
            (base(json!({ "type": "A.B/c", "name": "[reference('x').y]", "apiVersion": "1" })), "reference"),
            (
                base(json!({ "type": "A.B/c", "name": "x", "apiVersion": "1", "dependsOn": ["A.B/c/missing"] })),
                "not defined",
            ),
            (base(json!({ "type": "A.B/c", "name": "x/y", "apiVersion": "1" })), "do not match"),
            (base(json!({ "type": "A.B/c", "name": "[parameters('p')]", "apiVersion": "1" })), "not found"),
            (base(json!({ "type": "A.B/c", "name": "[concat('a']", "apiVersion": "1" })), "not valid"),
        ];
        for (t, expected) in cases {
            let e = plan(&t, &json!({}), &SCOPE).unwrap_err();
            assert!(e.0.contains(expected), "{expected}: {}", e.0);
        }
        let cyc = json!({ "resources": [
            { "type": "A.B/c", "name": "x", "apiVersion": "1", "dependsOn": ["A.B/c/y"] },
            { "type": "A.B/c", "name": "y", "apiVersion": "1", "dependsOn": ["A.B/c/x"] } ] });
        assert!(plan(&cyc, &json!({}), &SCOPE).unwrap_err().0.contains("cycle"));
        let unknown = json!({ "parameters": {}, "resources": [] });
        assert!(plan(&unknown, &json!({ "extra": { "value": 1 } }), &SCOPE).unwrap_err().0.contains("not defined"));
        let missing = json!({ "parameters": { "p": { "type": "string" } }, "resources": [] });
        assert!(plan(&missing, &json!({}), &SCOPE).unwrap_err().0.contains("not provided"));
    }
}
