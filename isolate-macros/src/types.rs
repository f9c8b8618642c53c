//! Recognising, by their spelling, the types that can never cross an
//! isolate, so that the error can say *why* and *what to do* for each.
//!
//! This is a courtesy layer: the `Sendable` bound checked on every field and
//! argument is the guarantee, and it catches everything (aliases included).
//! Only spellings that leave no doubt are recognised here: a user type that
//! happens to be called `Cell` must not be refused by name, so `Cell`,
//! `OnceCell` and `Weak` count only with a `std::`/`core::` path.

use syn::{GenericArgument, PathArguments, Type, TypeParamBound};

/// A type that cannot cross, where it was found, and the explanation.
pub(crate) struct Refusal {
    /// The offending part's tokens, so that the error underlines all of it.
    pub(crate) tokens: proc_macro2::TokenStream,
    /// The offending part, as written (`RefCell<Vec<u8>>` inside a bigger type).
    pub(crate) found: String,
    pub(crate) why: &'static str,
    pub(crate) fix: &'static str,
}

const SHARED_MUTABLE_FIX: &str = "send an owned copy of the data instead (the receiver gets its own), \
     or keep the state in one isolate and send a `SendPort` to that isolate";

/// The first refused type inside `ty`, outermost first.
pub(crate) fn refusal(ty: &Type) -> Option<Refusal> {
    match ty {
        Type::Ptr(_) => Some(Refusal {
            tokens: quote::quote!(#ty),
            found: text(ty),
            why: "a raw pointer points into memory that another isolate may free or change",
            fix: "send the data it points to, owned (`Box<T>`, `Vec<T>`), or `Shared<T>` for immutable data",
        }),
        Type::Reference(reference) => match &reference.lifetime {
            Some(lifetime) if lifetime.ident == "static" => refusal(&reference.elem),
            _ => Some(Refusal {
                tokens: quote::quote!(#ty),
                found: text(ty),
                why: "a borrow cannot outlive the sender's stack frame, and a message does",
                fix: "send owned data (`String` for `&str`, `Vec<T>` for `&[T]`), or `Shared<T>` to share immutable data",
            }),
        },
        Type::TraitObject(_) => Some(Refusal {
            tokens: quote::quote!(#ty),
            found: text(ty),
            why: "a trait object can carry any state, shared mutable state included, and the compiler cannot check it",
            fix: "send plain data (an enum of the commands, say), or a `SendPort` to an isolate that runs the code",
        }),
        Type::ImplTrait(_) => Some(Refusal {
            tokens: quote::quote!(#ty),
            found: text(ty),
            why: "a value that crosses an isolate needs a concrete type",
            fix: "name the type, or use a generic message type checked by `#[message]`",
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
            path.path
                .segments
                .iter()
                .find_map(|segment| match &segment.arguments {
                    PathArguments::AngleBracketed(args) => {
                        args.args.iter().find_map(|arg| match arg {
                            GenericArgument::Type(ty) => refusal(ty),
                            _ => None,
                        })
                    }
                    PathArguments::Parenthesized(_) | PathArguments::None => None,
                })
        }
        _ => None,
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
    let refusal = |why, fix| Refusal {
        tokens: proc_macro2::TokenStream::new(),
        found: String::new(),
        why,
        fix,
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
        "Cell" | "OnceCell" | "Weak" if qualified => Some(refusal(
            "it is shared mutable state: it allows writes through a shared reference",
            SHARED_MUTABLE_FIX,
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
    fn lifetimes_other_than_static_are_borrows() {
        assert!(borrows(&syn::parse_str("Cow<'a, str>").unwrap()));
        assert!(!borrows(&syn::parse_str("Cow<'static, str>").unwrap()));
    }
}
