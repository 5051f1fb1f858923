//! A form that runs a server action.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// A `<form>` that runs `action`. Without the client it posts its fields to the server
/// function's URL, as Leptos' `ActionForm` does; in the browser it dispatches what `arguments`
/// builds from the section's own inputs. `ActionForm` instead decodes the arguments from the
/// form's fields with a query-string deserializer, whose generic code was about 3 % of the
/// initial WASM (BENCHMARKS.md, "Client bundle").
#[component]
pub fn SubmitForm<A>(
    action: ServerAction<A>,
    arguments: impl Fn() -> A + 'static,
    children: Children,
) -> impl IntoView
where
    A: ServerFn + Clone + Send + Sync + 'static,
    A::Output: Send + Sync + 'static,
    A::Error: Send + Sync + 'static,
{
    view! {
        <form
            action=A::url()
            method="post"
            on:submit=move |event| {
                event.prevent_default();
                action.dispatch(arguments());
            }
        >
            {children()}
        </form>
    }
}
