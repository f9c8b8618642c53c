//! Recognising, by their spelling, the types that can never cross an
//! isolate, so that the error can say *why* and *what to do* for each.
//!
//! This is a courtesy layer: the `Sendable` bound checked on every field and
//! argument is the guarantee, and it catches everything (aliases included).
//! Only spellings that leave no doubt are recognised here: a user type that
//! happens to be called `Cell` must not be refused by name, so `Cell`,
//! `OnceCell` and `Weak` count only with a `std::`/`core::` path.

use std::borrow::Cow;

use syn::{GenericArgument, PathArguments, Type, TypeParamBound};

/// A type that cannot cross, where it was found, and the explanation.
pub(crate) struct Refusal {
    /// The offending part's tokens, so that the error underlines all of it.
    pub(crate) tokens: proc_macro2::TokenStream,
    /// The offending part, as written (`RefCell<Vec<u8>>` inside a bigger type).
    pub(crate) found: String,
    pub(crate) why: Cow<'static, str>,
    pub(crate) fix: Cow<'static, str>,
}

const SHARED_MUTABLE_FIX: &str = "send an owned copy of the data instead (the receiver gets its own), \
     or make the state one isolate's own and send that isolate plain-data messages";

/// The generic types whose parameter is what they carry to another
/// isolate: a refusal inside one says so, since "send a port to it" is
/// what the user already did.
const CARRIERS: &[&str] = &["SendPort", "ReplySender", "Shared"];

/// The first refused type inside `ty`, outermost first.
pub(crate) fn refusal(ty: &Type) -> Option<Refusal> {
    match ty {
        Type::Ptr(_) => Some(Refusal {
            tokens: quote::quote!(#ty),
            found: text(ty),
            why: "a raw pointer points into memory that another isolate may free or change".into(),
            fix: "send the data it points to, owned (`Box<T>`, `Vec<T>`), or `Shared<T>` for immutable data".into(),
        }),
        Type::Reference(reference) => match &reference.lifetime {
            Some(lifetime) if lifetime.ident == "static" => refusal(&reference.elem),
            _ => Some(Refusal {
                tokens: quote::quote!(#ty),
                found: text(ty),
                why: "a borrow cannot outlive the sender's stack frame, and a message does".into(),
                fix: "send owned data (`String` for `&str`, `Vec<T>` for `&[T]`), or `Shared<T>` to share immutable data".into(),
            }),
        },
        Type::TraitObject(_) => Some(Refusal {
            tokens: quote::quote!(#ty),
            found: text(ty),
            why: "a trait object can carry any state, shared mutable state included, and the compiler cannot check it".into(),
            fix: "send plain data (an enum of the commands, say), or a `SendPort` to an isolate that runs the code".into(),
        }),
        Type::ImplTrait(_) => Some(Refusal {
            tokens: quote::quote!(#ty),
            found: text(ty),
            why: "a value that crosses an isolate needs a concrete type".into(),
            fix: "name the type, or use a generic message type checked by `#[message]`".into(),
        }),
        Type::Paren(inner) => refusal(&inner.elem),
        Type::Group(inner) => refusal(&inner.elem),
        Type::Array(array) => refusal(&array.elem),
        Type::Slice(slice) => refusal(&slice.elem),
        Type::Tuple(tuple) => tuple.elems.iter().find_map(refusal),
        Type::Path(path) => {
            if let Some(found) = refused_path(&path.path) {
                return Some(Refusal {
                    tokens: quote::quote!(#ty),
                    found: text(ty),
                    ..found
                });
            }
            if let Some(elided) = elided_borrow(&path.path) {
                return Some(Refusal {
                    tokens: quote::quote!(#ty),
                    found: text(ty),
                    ..elided
                });
            }
            path.path.segments.iter().find_map(|segment| {
                let PathArguments::AngleBracketed(args) = &segment.arguments else {
                    return None;
                };
                let inner = args.args.iter().find_map(|arg| match arg {
                    GenericArgument::Type(ty) => refusal(ty),
                    _ => None,
                })?;
                let carrier = segment.ident.to_string();
                Some(if CARRIERS.contains(&carrier.as_str()) {
                    carried(&carrier, inner)
                } else {
                    inner
                })
            })
        }
        _ => None,
    }
}

/// A refusal of what a `SendPort` (or `ReplySender`, or `Shared`) would carry.
fn carried(carrier: &str, inner: Refusal) -> Refusal {
    let why = match carrier {
        "Shared" => "what a `Shared` holds is read by many isolates at once, and",
        "SendPort" => "a port's messages cross to the isolate that receives them, and",
        _ => "an answer crosses back to the isolate that asked, and",
    };
    Refusal {
        why: format!("{why} {}", inner.why).into(),
        fix: format!(
            "make the `{carrier}`'s type plain data: {}",
            match carrier {
                "Shared" => "`Shared<T>` is for immutable data",
                _ =>
                    "keep the mutable state as one isolate's own, and let its messages carry requests and copies",
            }
        )
        .into(),
        ..inner
    }
}

/// `Cow<str>` and the other standard borrowing types written without their
/// lifetime: the lifetime is elided, so the type borrows, which neither
/// `borrows` (no lifetime is written) nor rustc (which then suggests a
/// lifetime on the generated enum) says plainly.
fn elided_borrow(path: &syn::Path) -> Option<Refusal> {
    let last = path.segments.last()?;
    let lifetimes = match &last.arguments {
        PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter(|arg| matches!(arg, GenericArgument::Lifetime(_)))
            .count(),
        _ => 0,
    };
    if lifetimes > 0 {
        return None;
    }
    let why = "its lifetime is elided, so it borrows, and a borrow cannot outlive the sender's \
               stack frame, which a message does";
    match last.ident.to_string().as_str() {
        "Cow" => {
            let owned = match &last.arguments {
                PathArguments::AngleBracketed(args) => args.args.iter().find_map(|arg| match arg {
                    GenericArgument::Type(ty) => Some(owned_of(ty)),
                    _ => None,
                }),
                _ => None,
            }
            .unwrap_or_else(|| "the owned type".to_owned());
            Some(Refusal {
                tokens: proc_macro2::TokenStream::new(),
                found: String::new(),
                why: why.into(),
                fix: format!(
                    "send the owned type, `{owned}` (`cow.into_owned()`), or `Cow<'static, _>`"
                )
                .into(),
            })
        }
        // Only names that leave no doubt: a user type called `Iter` or
        // `Ref` may well own its data.
        "MutexGuard" | "RwLockReadGuard" | "RwLockWriteGuard" => Some(Refusal {
            tokens: proc_macro2::TokenStream::new(),
            found: String::new(),
            why: why.into(),
            fix: "send a copy of the guarded value (`guard.clone()`), or keep the lock's data as \
                  one isolate's own state"
                .into(),
        }),
        _ => None,
    }
}

/// The owned form of the borrowed type inside a `Cow`.
fn owned_of(borrowed: &Type) -> String {
    match borrowed {
        Type::Slice(slice) => format!("Vec<{}>", text(&slice.elem)),
        Type::Path(path) => match path.path.segments.last().map(|s| s.ident.to_string()) {
            Some(name) => match name.as_str() {
                "str" => "String".to_owned(),
                "Path" => "PathBuf".to_owned(),
                "OsStr" => "OsString".to_owned(),
                "CStr" => "CString".to_owned(),
                _ => format!("<{} as ToOwned>::Owned", text(borrowed)),
            },
            None => text(borrowed),
        },
        other => format!("<{} as ToOwned>::Owned", text(other)),
    }
}

fn refused_path(path: &syn::Path) -> Option<Refusal> {
    let last = path.segments.last()?;
    let name = last.ident.to_string();
    let qualified = path.segments.len() > 1
        && matches!(
            path.segments[0].ident.to_string().as_str(),
            "std" | "core" | "alloc"
        );
    let refusal = |why: &'static str, fix: &'static str| Refusal {
        tokens: proc_macro2::TokenStream::new(),
        found: String::new(),
        why: why.into(),
        fix: fix.into(),
    };
    match name.as_str() {
        "Rc" => Some(refusal(
            "an `Rc` shares its value through a count that only one thread may touch",
            "send an owned copy, or `Shared<T>` (or `Arc<T>`) for immutable data that many isolates read",
        )),
        "RefCell" | "UnsafeCell" => Some(refusal(
            "it is shared mutable state: it allows writes through a shared reference",
            SHARED_MUTABLE_FIX,
        )),
        "Cell" | "OnceCell" if qualified => Some(refusal(
            "it is shared mutable state: it allows writes through a shared reference",
            SHARED_MUTABLE_FIX,
        )),
        "Weak" if qualified => Some(refusal(
            "a `Weak` points at a value that an `Rc` or `Arc` owns elsewhere, and that value \
             stays with its owner",
            "send an owned copy of the value it points to (`weak.upgrade()` then clone), or a \
             `Shared<T>` of immutable data",
        )),
        "Mutex" | "RwLock" | "Condvar" | "Barrier" | "OnceLock" | "LazyLock" => Some(refusal(
            "a lock is shared mutable state: two isolates holding it would share what it guards",
            SHARED_MUTABLE_FIX,
        )),
        name if name.starts_with("Atomic") && is_std_atomic(name) => Some(refusal(
            "an atomic is shared mutable state: two isolates would write the same memory",
            "send the value it holds (a plain integer), or keep the counter in one isolate and ask it through a `SendPort`",
        )),
        "ReceivePort" => Some(refusal(
            "a `ReceivePort` stays in the isolate that made it",
            "send its `SendPort` instead (`receive_port.send_port()`)",
        )),
        _ => None,
    }
}

fn is_std_atomic(name: &str) -> bool {
    matches!(
        name,
        "AtomicBool"
            | "AtomicI8"
            | "AtomicI16"
            | "AtomicI32"
            | "AtomicI64"
            | "AtomicIsize"
            | "AtomicU8"
            | "AtomicU16"
            | "AtomicU32"
            | "AtomicU64"
            | "AtomicUsize"
            | "AtomicPtr"
    )
}

/// Whether `ty` names a lifetime other than `'static` anywhere inside.
pub(crate) fn borrows(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_lifetime(&mut self, lifetime: &'ast syn::Lifetime) {
            if lifetime.ident != "static" {
                self.0 = true;
            }
        }
        fn visit_type_param_bound(&mut self, bound: &'ast TypeParamBound) {
            syn::visit::visit_type_param_bound(self, bound);
        }
    }
    let mut finder = Finder(false);
    syn::visit::Visit::visit_type(&mut finder, ty);
    finder.0
}

/// The type as a user would write it: `quote` puts spaces between all tokens.
fn text(ty: &Type) -> String {
    let spaced = quote::quote!(#ty).to_string();
    let tokens: Vec<&str> = spaced.split(' ').collect();
    let mut out = String::with_capacity(spaced.len());
    for (index, token) in tokens.iter().enumerate() {
        let previous = index.checked_sub(1).map(|i| tokens[i]);
        let glue = match previous {
            None => true,
            Some(previous) => {
                token.starts_with(['<', '>', ',', ':', ')', ']', '?'])
                    || previous.ends_with(['<', ':', '&', '*', '(', '[', '\''])
                    || (matches!(previous, "Fn" | "FnMut" | "FnOnce" | "fn")
                        && token.starts_with('('))
            }
        };
        if !glue {
            out.push(' ');
        }
        out.push_str(token);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_shown_as_written() {
        for ty in [
            "*mut u8",
            "std::cell::Cell<u64>",
            "&'a str",
            "Vec<Option<Rc<String>>>",
            "Box<dyn Fn() -> u64 + Send>",
            "&mut [u8]",
            "(u8, RefCell<u8>)",
        ] {
            assert_eq!(text(&syn::parse_str(ty).unwrap()), ty);
        }
    }

    fn why(ty: &str) -> Option<String> {
        refusal(&syn::parse_str(ty).unwrap())
            .map(|r| format!("{} :: {} :: {}", r.found, r.why, r.fix))
    }

    #[test]
    fn owned_data_and_ports_are_not_refused() {
        for ty in [
            "u64",
            "String",
            "Vec<Option<String>>",
            "HashMap<String, (u8, Box<str>)>",
            "Shared<Vec<u8>>",
            "SendPort<u8>",
            "&'static str",
            "Cell",
            "my::Cell<u8>",
            "Arc<String>",
        ] {
            assert!(why(ty).is_none(), "{ty} was refused");
        }
    }

    #[test]
    fn shared_mutable_state_is_found_however_deep() {
        assert!(why("Rc<u8>").unwrap().contains("Rc"));
        assert!(
            why("Vec<Option<Rc<String>>>")
                .unwrap()
                .starts_with("Rc<String>")
        );
        assert!(
            why("Arc<Mutex<Vec<u8>>>")
                .unwrap()
                .starts_with("Mutex<Vec<u8>>")
        );
        assert!(
            why("std::sync::Arc<std::sync::RwLock<u8>>")
                .unwrap()
                .contains("lock")
        );
        assert!(why("(u8, RefCell<u8>)").unwrap().starts_with("RefCell<u8>"));
        assert!(why("Arc<AtomicU64>").unwrap().contains("atomic"));
        assert!(
            why("std::cell::Cell<u8>")
                .unwrap()
                .contains("shared mutable")
        );
        assert!(why("PhantomData<Rc<u8>>").is_some());
    }

    #[test]
    fn borrows_pointers_and_trait_objects_are_refused() {
        assert!(why("&str").unwrap().contains("borrow"));
        assert!(why("&'a mut Vec<u8>").unwrap().contains("borrow"));
        assert!(why("*const u8").unwrap().contains("raw pointer"));
        assert!(
            why("Box<dyn Fn() + Send>")
                .unwrap()
                .contains("trait object")
        );
        assert!(why("ReceivePort<u8>").unwrap().contains("SendPort"));
        assert!(
            why("&'static RefCell<u8>")
                .unwrap()
                .contains("shared mutable")
        );
    }

    #[test]
    fn elided_borrows_name_the_owned_type() {
        let cow = why("Cow<str>").unwrap();
        assert!(cow.contains("elided"), "{cow}");
        assert!(cow.contains("`String`"), "{cow}");
        assert!(why("std::borrow::Cow<[u8]>").unwrap().contains("`Vec<u8>`"));
        assert!(why("Cow<Path>").unwrap().contains("`PathBuf`"));
        assert!(why("Option<Cow<str>>").unwrap().contains("`String`"));
        assert!(why("Cow<'static, str>").is_none());
        assert!(why("MutexGuard<u8>").unwrap().contains("borrows"));
        assert!(why("Iter").is_none());
    }

    #[test]
    fn a_refusal_inside_a_port_says_the_port_carries_it() {
        let port = why("SendPort<Arc<Mutex<u8>>>").unwrap();
        assert!(port.starts_with("Mutex<u8>"), "{port}");
        assert!(port.contains("a port's messages cross"), "{port}");
        assert!(!port.contains("send a `SendPort`"), "{port}");
        assert!(
            why("ReplySender<Rc<u8>>")
                .unwrap()
                .contains("answer crosses back")
        );
    }

    #[test]
    fn weak_is_refused_for_what_it_is() {
        let weak = why("std::rc::Weak<u8>").unwrap();
        assert!(weak.contains("owns elsewhere"), "{weak}");
        assert!(
            !weak.contains("writes through a shared reference"),
            "{weak}"
        );
    }

    #[test]
    fn lifetimes_other_than_static_are_borrows() {
        assert!(borrows(&syn::parse_str("Cow<'a, str>").unwrap()));
        assert!(!borrows(&syn::parse_str("Cow<'static, str>").unwrap()));
    }
}
