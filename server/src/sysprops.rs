//! Java system properties, as ZooKeeper's users set them. Part of a ZooKeeper server is
//! configured outside `zoo.cfg`: `-Dname=value` options, given on the command line, in the
//! `SERVER_JVMFLAGS` or `JVMFLAGS` environment variables, or in `conf/java.env` beside
//! `zoo.cfg` (which ZooKeeper's start scripts source). Warren reads all of them, so a
//! deployment's existing settings (`zookeeper.DigestAuthenticationProvider.superDigest`,
//! `java.security.auth.login.config`, `zookeeper.extendedTypesEnabled`,
//! `zookeeper.4lw.commands.whitelist`, …) work unchanged. Properties Warren does not read
//! are logged and ignored.
//!
//! Precedence, lowest first: `java.env`, `JVMFLAGS`, `SERVER_JVMFLAGS`, the command line;
//! then `zoo.cfg` keys, which win, as ZooKeeper turns them into system properties itself.

use std::path::Path;

/// Properties in the order they apply (later ones win).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemProperties {
    pub props: Vec<(String, String)>,
}

impl SystemProperties {
    /// Gathers the properties from `java.env` beside `config` (if any), the environment
    /// (read through `env`), and the command line's `-D` values (`name=value`).
    pub fn gather(
        cli: &[String],
        config: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> SystemProperties {
        let mut flags = Vec::new();
        if let Some(java_env) = config.and_then(Path::parent).map(|d| d.join("java.env")) {
            if let Ok(text) = std::fs::read_to_string(&java_env) {
                tracing::info!(file = %java_env.display(), "reading JVM flags");
                flags.extend(java_env_flags(&text));
            }
        }
        for var in ["JVMFLAGS", "SERVER_JVMFLAGS"] {
            if let Some(v) = env(var) {
                flags.push(v);
            }
        }
        let mut props: Vec<(String, String)> =
            flags.iter().flat_map(|f| jvm_flag_properties(f)).collect();
        props.extend(cli.iter().filter_map(|d| split_property(d)));
        SystemProperties { props }
    }
}

/// `name=value` (a bare `name` means `name=true`, as the JVM's `-Dname` gives "").
fn split_property(d: &str) -> Option<(String, String)> {
    let (k, v) = d.split_once('=').unwrap_or((d, ""));
    let k = k.trim();
    (!k.is_empty()).then(|| (k.to_owned(), v.to_owned()))
}

/// The `-Dname=value` options among JVM flags (other flags, such as `-Xmx2g`, are not
/// Warren's business). Double and single quotes group as in a shell.
pub fn jvm_flag_properties(flags: &str) -> Vec<(String, String)> {
    shell_words(flags)
        .iter()
        .filter_map(|w| w.strip_prefix("-D"))
        .filter_map(split_property)
        .collect()
}

/// The values given to `SERVER_JVMFLAGS` and `JVMFLAGS` in a `java.env` file: lines like
/// `export SERVER_JVMFLAGS="-Xmx2g -Dname=value"` (a `$VAR` inside is dropped).
pub fn java_env_flags(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (var, value) = line.split_once('=')?;
            matches!(var.trim(), "SERVER_JVMFLAGS" | "JVMFLAGS").then(|| {
                let words = shell_words(value);
                words
                    .into_iter()
                    .map(|w| {
                        w.split_whitespace()
                            .filter(|t| !t.starts_with('$'))
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        })
        .collect()
}

/// Splits as a shell would (quotes group, and are removed); unbalanced quotes fall back
/// to plain whitespace.
fn shell_words(s: &str) -> Vec<String> {
    shell_words::split(s).unwrap_or_else(|_| s.split_whitespace().map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_from_the_places_zookeeper_reads_them() {
        assert_eq!(
            jvm_flag_properties("-Xmx2g -Dzookeeper.a=1 '-Db=two words' -Dc"),
            vec![
                ("zookeeper.a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "two words".to_owned()),
                ("c".to_owned(), String::new()),
            ]
        );
        let env = "# comment\nexport SERVER_JVMFLAGS=\"-Xmx1g -Dx=1 $SERVER_JVMFLAGS\"\nJVMFLAGS='-Dy=2'\nOTHER=-Dz=3\n";
        let flags = java_env_flags(env);
        assert_eq!(flags.len(), 2);
        let props: Vec<_> = flags.iter().flat_map(|f| jvm_flag_properties(f)).collect();
        assert_eq!(
            props,
            vec![("x".into(), "1".into()), ("y".into(), "2".into())]
        );

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("java.env"),
            "JVMFLAGS=\"-Dp=envfile -Dq=envfile\"\n",
        )
        .unwrap();
        let cfg = dir.path().join("zoo.cfg");
        let env = |k: &str| (k == "SERVER_JVMFLAGS").then(|| "-Dq=server".to_owned());
        let got = SystemProperties::gather(&["q=cli".to_owned()], Some(&cfg), env);
        // Later ones win: java.env < SERVER_JVMFLAGS < the command line.
        assert_eq!(
            got.props,
            vec![
                ("p".into(), "envfile".into()),
                ("q".into(), "envfile".into()),
                ("q".into(), "server".into()),
                ("q".into(), "cli".into()),
            ]
        );
    }
}
