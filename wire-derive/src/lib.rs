//! `#[derive(FromJson)]`: the browser build's decoder of a model type, generated from the same
//! `#[serde(...)]` attributes that shape its JSON on the server, so the two cannot drift.
//!
//! serde's derived `Deserialize` is generic over the deserializer and instantiates a visitor,
//! a field matcher and map/sequence accessors per type; in the WASM client that made about a
//! fifth of the bundle. The impls generated here read an already parsed JSON tree
//! (`crate::model::wire::Json`) and are plain, non-generic code.
//!
//! Understood attributes (the ones the model uses; anything else is a compile error, so a new
//! serde attribute cannot be silently ignored): container `rename_all` (`snake_case`,
//! `lowercase`), `tag`, `content`, `untagged`, `default`; field `default`, `rename`,
//! `skip_serializing_if` (no effect on decoding); variant `rename`.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::{Attribute, Data, DeriveInput, Fields, LitStr, parse_macro_input};

#[proc_macro_derive(FromJson, attributes(serde))]
pub fn derive_from_json(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

#[derive(Default)]
struct Container {
    rename_all: Option<String>,
    tag: Option<String>,
    content: Option<String>,
    untagged: bool,
    default: bool,
}

#[derive(Default)]
struct Member {
    rename: Option<String>,
    default: bool,
}

fn container_attrs(attrs: &[Attribute]) -> syn::Result<Container> {
    let mut found = Container::default();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                found.rename_all = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("tag") {
                found.tag = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("content") {
                found.content = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("untagged") {
                found.untagged = true;
            } else if meta.path.is_ident("default") {
                found.default = true;
            } else {
                return Err(meta.error("FromJson does not understand this serde attribute"));
            }
            Ok(())
        })?;
    }
    if let Some(rule) = &found.rename_all
        && rule != "snake_case"
        && rule != "lowercase"
    {
        return Err(syn::Error::new_spanned(
            &attrs[0],
            "rename_all: snake_case or lowercase",
        ));
    }
    Ok(found)
}

fn member_attrs(attrs: &[Attribute]) -> syn::Result<Member> {
    let mut found = Member::default();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                found.rename = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("default") {
                found.default = true;
            } else if meta.path.is_ident("skip_serializing_if")
                || meta.path.is_ident("serialize_with")
            {
                // How the server writes it; the browser reads the result like any other.
                meta.value()?.parse::<LitStr>()?;
            } else {
                return Err(meta.error("FromJson does not understand this serde attribute"));
            }
            Ok(())
        })?;
    }
    Ok(found)
}

/// serde's `rename_all` rules for the two the model uses.
fn renamed(name: &str, rule: Option<&str>) -> String {
    match rule {
        Some("lowercase") => name.to_lowercase(),
        Some("snake_case") => {
            let mut out = String::new();
            for (index, ch) in name.chars().enumerate() {
                if ch.is_uppercase() && index > 0 {
                    out.push('_');
                }
                out.extend(ch.to_lowercase());
            }
            out
        }
        _ => name.to_owned(),
    }
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "FromJson: generic types are not supported",
        ));
    }
    let name = &input.ident;
    let type_name = name.to_string();
    let container = container_attrs(&input.attrs)?;
    let body = match &input.data {
        // A struct's rename_all applies to its fields; a variant's fields keep their names.
        Data::Struct(data) => fields_from_object(
            quote!(Self),
            &data.fields,
            &container,
            quote!(value),
            &type_name,
        )?,
        Data::Enum(data) => enum_body(data, &container, &type_name)?,
        Data::Union(_) => {
            return Err(syn::Error::new_spanned(
                name,
                "FromJson: unions are not supported",
            ));
        }
    };
    Ok(quote! {
        impl crate::model::wire::FromJson for #name {
            fn from_json(value: &crate::model::wire::Json<'_>) -> ::core::result::Result<Self, crate::model::wire::WireError> {
                #body
            }
        }
    })
}

/// Builds `path` (a struct or a variant) from `source`: an object for named fields, the value
/// itself for a newtype, an array for a tuple, nothing for a unit.
fn fields_from_object(
    path: Tokens,
    fields: &Fields,
    container: &Container,
    source: Tokens,
    what: &str,
) -> syn::Result<Tokens> {
    Ok(match fields {
        Fields::Named(named) => {
            let mut inits = Vec::new();
            for field in &named.named {
                let attrs = member_attrs(&field.attrs)?;
                let ident = field.ident.as_ref().expect("named field");
                let raw = ident.to_string();
                let raw = raw.strip_prefix("r#").unwrap_or(&raw);
                let key = attrs
                    .rename
                    .clone()
                    .unwrap_or_else(|| renamed(raw, container.rename_all.as_deref()));
                let reader = if attrs.default || container.default {
                    quote!(crate::model::wire::field_or_default)
                } else {
                    quote!(crate::model::wire::field)
                };
                inits.push(quote! { #ident: #reader(object, #key)? });
            }
            quote! {
                let object = #source.object(#what)?;
                ::core::result::Result::Ok(#path { #(#inits),* })
            }
        }
        Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => {
            quote! { ::core::result::Result::Ok(#path(crate::model::wire::FromJson::from_json(#source)?)) }
        }
        Fields::Unnamed(unnamed) => {
            let count = unnamed.unnamed.len();
            let items = (0..count)
                .map(|index| quote! { crate::model::wire::FromJson::from_json(&items[#index])? });
            quote! {
                let items = #source.array_of(#count, #what)?;
                ::core::result::Result::Ok(#path(#(#items),*))
            }
        }
        Fields::Unit => quote! { ::core::result::Result::Ok(#path) },
    })
}

/// A variant whose fields (if any) are a separate JSON value: `content` is the expression that
/// finds it (adjacently tagged: the content member; externally tagged: the tag's value).
fn with_content(path: Tokens, fields: &Fields, content: Tokens, what: &str) -> syn::Result<Tokens> {
    Ok(match fields {
        Fields::Unit => quote! { ::core::result::Result::Ok(#path) },
        fields => {
            let inner =
                fields_from_object(path, fields, &Container::default(), quote!(content), what)?;
            quote! {
                let content = #content;
                #inner
            }
        }
    })
}

fn enum_body(data: &syn::DataEnum, container: &Container, type_name: &str) -> syn::Result<Tokens> {
    let rule = container.rename_all.as_deref();
    let mut arms = Vec::new();
    let no_rename = Container::default();
    for variant in &data.variants {
        let attrs = member_attrs(&variant.attrs)?;
        if attrs.default {
            return Err(syn::Error::new_spanned(
                variant,
                "FromJson: default on a variant",
            ));
        }
        let ident = &variant.ident;
        let wire = attrs
            .rename
            .clone()
            .unwrap_or_else(|| renamed(&ident.to_string(), rule));
        let what = format!("{type_name}::{ident}");
        let arm = if container.untagged {
            let build = fields_from_object(
                quote!(Self::#ident),
                &variant.fields,
                &no_rename,
                quote!(value),
                &what,
            )?;
            quote! {
                let attempt = (|| -> ::core::result::Result<Self, crate::model::wire::WireError> { #build })();
                if let ::core::result::Result::Ok(found) = attempt {
                    return ::core::result::Result::Ok(found);
                }
            }
        } else if let (Some(_), Some(content)) = (&container.tag, &container.content) {
            let content = quote! { crate::model::wire::member(object, #content, #what)? };
            let build = with_content(quote!(Self::#ident), &variant.fields, content, &what)?;
            quote! { #wire => { #build } }
        } else if container.tag.is_some() {
            // Internally tagged: the variant's fields sit beside the tag in the same object.
            let build = fields_from_object(
                quote!(Self::#ident),
                &variant.fields,
                &no_rename,
                quote!(value),
                &what,
            )?;
            quote! { #wire => { #build } }
        } else {
            let content = quote! { content.ok_or(crate::model::wire::WireError::expected(#what))? };
            let build = with_content(quote!(Self::#ident), &variant.fields, content, &what)?;
            quote! { #wire => { #build } }
        };
        arms.push(arm);
    }
    Ok(if container.untagged {
        quote! {
            #(#arms)*
            ::core::result::Result::Err(crate::model::wire::WireError::expected(#type_name))
        }
    } else if let Some(tag) = &container.tag {
        quote! {
            let object = value.object(#type_name)?;
            let tag = crate::model::wire::member(object, #tag, #type_name)?.text(#type_name)?;
            match tag {
                #(#arms)*
                _ => ::core::result::Result::Err(crate::model::wire::WireError::expected(#type_name)),
            }
        }
    } else {
        quote! {
            let (tag, content) = value.variant(#type_name)?;
            match tag {
                #(#arms)*
                _ => ::core::result::Result::Err(crate::model::wire::WireError::expected(#type_name)),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::renamed;

    #[test]
    fn renames_as_serde_does() {
        assert_eq!(
            renamed("NotACacheGroup", Some("snake_case")),
            "not_a_cache_group"
        );
        assert_eq!(renamed("Up", Some("snake_case")), "up");
        assert_eq!(renamed("Ru", Some("lowercase")), "ru");
        assert_eq!(renamed("read_at_ms", Some("snake_case")), "read_at_ms");
        assert_eq!(renamed("Minutes15", None), "Minutes15");
    }
}
