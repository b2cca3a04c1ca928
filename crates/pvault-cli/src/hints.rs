//! What the CLI adds to the engine's errors: the next step, in the CLI's own words. The engine's
//! messages name the problem and never a command or a flag (the dashboard and other programs show
//! them too); this file says what to type, keyed by the engine's stable error codes
//! ([`pvault_core::Error::code`]), which also cross the agent's socket.

use pvault_core::Error;
use pvault_core::agent::AgentError;

/// The next step after an error with this code, as text that follows its message.
fn next_step(code: &str, profile: Option<&str>) -> Option<String> {
    let text = match code {
        "unknown_profile" => " (see `pvault profile list`)",
        "no_current_profile" => ": pass --profile NAME or run `pvault profile use NAME`",
        "secret_key_required" => {
            ": set PVAULT_SECRET_KEY, pass --secret-key-file, or type it at the prompt"
        }
        "key_exhausted" => ": run `pvault profile rotate-keys`",
        "rotation_incomplete" => "; run `pvault verify`",
        "key_file_damaged" => {
            " (to join in another home: `pvault --home DIR sync join --server URL --username NAME`)"
        }
        "locked" => {
            return Some(format!(
                ": run `pvault profile unlock {}`, or give the password (prompt, --password-file, PVAULT_PASSWORD)",
                profile.unwrap_or("NAME")
            ));
        }
        "sync_not_set_up" => {
            ": run `pvault sync setup --server URL` (or `pvault sync join` on a new device)"
        }
        "sync_already_set_up" => "; run `pvault sync status`",
        "server_unreachable" => "; run `pvault sync` again later",
        "password_changed_elsewhere" => {
            " (`pvault sync join --server URL --username NAME --as NEW-NAME`)"
        }
        "device_removed" => {
            "; `pvault sync leave` stops syncing here, then `pvault sync setup` can register the profile on another account or server"
        }
        "unknown_conflict" => " (see `pvault conflicts list`)",
        "nothing_to_restore" => " (see `pvault sync history`)",
        "no_default_home" => "; pass --home DIR or set PVAULT_HOME",
        "unknown_account" => ": give the --username used at `pvault sync setup`",
        "invalid_device_id" => ": see `pvault sync status`",
        "not_pulled_that_far" => ": run `pvault sync` first, or give a smaller --size",
        _ => return None,
    };
    Some(text.to_string())
}

/// An engine error as the CLI shows it: its message and the next step.
pub fn render(e: &Error) -> String {
    match e {
        Error::ConfirmationMismatch(name) => {
            format!("not deleted: --confirm must repeat the profile name exactly ('{name}')")
        }
        _ => format!(
            "{e}{}",
            next_step(e.code(), e.profile()).unwrap_or_default()
        ),
    }
}

/// An error from the agent as the CLI shows it.
pub fn render_agent(e: &AgentError) -> String {
    let step = match (e.kind.as_str(), &e.code) {
        ("version", _) => Some(" (`pvault agent --stop`)".to_string()),
        (_, Some(code)) => next_step(code, e.profile.as_deref()),
        _ => None,
    };
    format!("{}{}", e.message, step.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_follow_the_message() {
        let e = Error::Locked("alice".into());
        assert_eq!(
            render(&e),
            "profile 'alice' is locked: run `pvault profile unlock alice`, or give the password (prompt, --password-file, PVAULT_PASSWORD)"
        );
        let through_agent = AgentError::from_engine(&e);
        assert_eq!(render_agent(&through_agent), render(&e));
        assert_eq!(
            render(&Error::NotFound {
                collection: "c".into(),
                id: "i".into()
            }),
            "no record 'i' in c"
        );
    }
}
