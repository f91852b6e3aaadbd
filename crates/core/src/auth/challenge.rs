//! `WWW-Authenticate` challenges (RFC 7235), read the way the most forgiving registry
//! clients read them: several challenges on one line, any case for schemes and keys,
//! quoted or bare values.

/// One challenge from a `WWW-Authenticate` header, such as
/// `Bearer realm="https://auth.example.com/token",service="registry.example.com"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
    token68: Option<String>,
}

impl Challenge {
    /// The auth scheme, lowercased: `bearer`, `basic`, …
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The first parameter named `key` (compared without regard to case).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }

    /// Every parameter in header order, keys lowercased.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The bare credential blob some schemes carry instead of parameters (`Negotiate YII…`).
    pub fn token68(&self) -> Option<&str> {
        self.token68.as_deref()
    }

    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }

    pub fn service(&self) -> Option<&str> {
        self.param("service")
    }

    pub fn scope(&self) -> Option<&str> {
        self.param("scope")
    }

    /// The `error` parameter, e.g. `insufficient_scope` or `invalid_token`.
    pub fn error(&self) -> Option<&str> {
        self.param("error")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    #[error("the WWW-Authenticate header is empty; a registry that answers 401 must name a scheme such as Bearer or Basic")]
    Empty,
    #[error("expected an auth scheme such as Bearer at byte {at}, found {found:?}")]
    ExpectedScheme { at: usize, found: char },
    #[error("unexpected {found:?} at byte {at}: an auth scheme must be followed by a space and then its parameters")]
    UnexpectedCharacter { at: usize, found: char },
    #[error("missing comma at byte {at}: parameters must be separated by commas, as in realm=\"…\",service=\"…\"")]
    MissingComma { at: usize },
    #[error("the quoted string opened at byte {at} is never closed; add the closing double quote")]
    UnterminatedQuote { at: usize },
    #[error("the header ends with a backslash inside a quoted string (byte {at}); a backslash must escape the character after it")]
    TrailingBackslash { at: usize },
    #[error("parameter {key:?} at byte {at} has no value; write {key}=value or {key}=\"value\"")]
    MissingValue { key: String, at: usize },
}

/// Parses one `WWW-Authenticate` header value into its challenges, in order.
///
/// A new challenge begins where a word is followed by a space and not by `=`, so
/// `Bearer realm="a", service="b", Basic realm="c"` yields two challenges.
pub fn parse_www_authenticate(header: &str) -> Result<Vec<Challenge>, ChallengeError> {
    let mut p = Cursor { s: header, pos: 0 };
    p.skip_separators();
    if p.at_end() {
        return Err(ChallengeError::Empty);
    }
    let mut challenges = Vec::new();
    // A scheme found while reading the previous challenge's parameters, and whether a
    // space followed it.
    let mut pending: Option<(String, bool)> = None;
    loop {
        let (scheme, spaced) = match pending.take() {
            Some(found) => found,
            None => {
                let scheme = p.scheme()?;
                (scheme, p.skip_ws())
            }
        };
        let mut challenge = Challenge { scheme: scheme.to_ascii_lowercase(), params: Vec::new(), token68: None };
        match p.peek() {
            None => {
                challenges.push(challenge);
                break;
            }
            Some(',') => {
                challenges.push(challenge);
                p.skip_separators();
                if p.at_end() {
                    break;
                }
                continue;
            }
            Some(c) if !spaced => return Err(ChallengeError::UnexpectedCharacter { at: p.pos, found: c }),
            Some(_) => {}
        }
        if let Some(blob) = p.token68() {
            challenge.token68 = Some(blob);
            challenges.push(challenge);
            p.skip_ws();
            match p.peek() {
                None => break,
                Some(',') => {
                    p.skip_separators();
                    if p.at_end() {
                        break;
                    }
                    continue;
                }
                Some(_) => return Err(ChallengeError::MissingComma { at: p.pos }),
            }
        }
        let mut name = p.expect_word()?;
        loop {
            let name_end = p.pos;
            let spaced = p.skip_ws();
            if p.peek() != Some('=') {
                pending = Some((name, spaced));
                break;
            }
            p.bump();
            p.skip_ws();
            let value = p.value(&name, name_end)?;
            challenge.params.push((name.to_ascii_lowercase(), value));
            p.skip_ws();
            match p.peek() {
                None => break,
                Some(',') => {
                    p.skip_separators();
                    if p.at_end() {
                        break;
                    }
                    name = p.expect_word()?;
                }
                Some(_) => return Err(ChallengeError::MissingComma { at: p.pos }),
            }
        }
        challenges.push(challenge);
        if pending.is_none() {
            break;
        }
    }
    Ok(challenges)
}

/// Parses every `WWW-Authenticate` line of one response (HTTP allows the header to repeat).
/// Blank lines are skipped; all lines blank is [`ChallengeError::Empty`].
pub fn parse_all(headers: &[&str]) -> Result<Vec<Challenge>, ChallengeError> {
    let mut all = Vec::new();
    for header in headers {
        match parse_www_authenticate(header) {
            Ok(mut challenges) => all.append(&mut challenges),
            Err(ChallengeError::Empty) => {}
            Err(e) => return Err(e),
        }
    }
    if all.is_empty() {
        return Err(ChallengeError::Empty);
    }
    Ok(all)
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

fn is_ws(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Characters that end a bare word: whitespace and the delimiters of the grammar.
fn ends_word(c: char) -> bool {
    is_ws(c) || c == ',' || c == '=' || c == '"'
}

fn is_token68_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~+/".contains(c)
}

impl Cursor<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek() {
            self.pos += c.len_utf8();
        }
    }

    /// Skips spaces and tabs; says whether there were any.
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_ws) {
            self.bump();
        }
        self.pos > start
    }

    /// Skips whitespace and commas: RFC 7235 lists may hold empty elements.
    fn skip_separators(&mut self) {
        while self.peek().is_some_and(|c| is_ws(c) || c == ',') {
            self.bump();
        }
    }

    fn scheme(&mut self) -> Result<String, ChallengeError> {
        let at = self.pos;
        match self.word()? {
            Some(w) => Ok(w),
            None => Err(ChallengeError::ExpectedScheme { at, found: self.peek().unwrap_or(' ') }),
        }
    }

    fn expect_word(&mut self) -> Result<String, ChallengeError> {
        let at = self.pos;
        match self.word()? {
            Some(w) => Ok(w),
            None => Err(ChallengeError::UnexpectedCharacter { at, found: self.peek().unwrap_or(' ') }),
        }
    }

    /// A bare word or a quoted string; `None` when neither starts here.
    fn word(&mut self) -> Result<Option<String>, ChallengeError> {
        if self.peek() == Some('"') {
            return self.quoted().map(Some);
        }
        let start = self.pos;
        while self.peek().is_some_and(|c| !ends_word(c)) {
            self.bump();
        }
        if self.pos == start {
            return Ok(None);
        }
        Ok(Some(self.s[start..self.pos].to_string()))
    }

    /// A parameter value: a quoted string, or everything up to whitespace or a comma
    /// (registries send bare values such as `realm=/` that are not strict RFC tokens).
    fn value(&mut self, key: &str, key_end: usize) -> Result<String, ChallengeError> {
        if self.peek() == Some('"') {
            return self.quoted();
        }
        let start = self.pos;
        while self.peek().is_some_and(|c| !is_ws(c) && c != ',') {
            self.bump();
        }
        if self.pos == start {
            return Err(ChallengeError::MissingValue { key: key.to_string(), at: key_end });
        }
        Ok(self.s[start..self.pos].to_string())
    }

    fn quoted(&mut self) -> Result<String, ChallengeError> {
        let open = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(ChallengeError::UnterminatedQuote { at: open });
            };
            let at = self.pos;
            self.bump();
            match c {
                '"' => return Ok(out),
                '\\' => match self.peek() {
                    Some(escaped) => {
                        out.push(escaped);
                        self.bump();
                    }
                    None => return Err(ChallengeError::TrailingBackslash { at }),
                },
                _ => out.push(c),
            }
        }
    }

    /// A token68 blob (`abc+/=`) standing alone after the scheme. Consumed only when the
    /// challenge ends right after it, so `realm=/` and `realm = "x"` stay parameters.
    fn token68(&mut self) -> Option<String> {
        let rest = self.rest();
        let body = rest.find(|c: char| !is_token68_char(c)).unwrap_or(rest.len());
        if body == 0 {
            return None;
        }
        let after_body = &rest[body..];
        let equals = after_body.find(|c: char| c != '=').unwrap_or(after_body.len());
        let end = body + equals;
        if rest[end..].trim_start_matches(is_ws).chars().next().is_some_and(|c| c != ',') {
            return None;
        }
        let blob = rest[..end].to_string();
        self.pos += end;
        Some(blob)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(scheme: &str, params: &[(&str, &str)]) -> Challenge {
        Challenge {
            scheme: scheme.to_string(),
            params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            token68: None,
        }
    }

    #[test]
    fn parses_the_vectors_of_the_protocol_notes_and_more() {
        let docker = ch(
            "bearer",
            &[("realm", "https://auth.docker.io/token"), ("service", "registry.docker.io"), ("scope", "repository:docker/docker:pull")],
        );
        let github = ch("basic", &[("realm", "GitHub Package Registry")]);
        let cases: Vec<(&str, Vec<Challenge>)> = vec![
            (
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:docker/docker:pull""#,
                vec![docker.clone()],
            ),
            (r#"Basic realm="GitHub Package Registry""#, vec![github.clone()]),
            (r#"BaSiC ReAlM="Case insensitive key""#, vec![ch("basic", &[("realm", "Case insensitive key")])]),
            ("Basic realm=unquoted", vec![ch("basic", &[("realm", "unquoted")])]),
            ("Basic realm=/", vec![ch("basic", &[("realm", "/")])]),
            (r#"Basic realm="Dev", charset="UTF-8""#, vec![ch("basic", &[("realm", "Dev"), ("charset", "UTF-8")])]),
            (
                r#"Bearer realm="https://auth.docker.io/token", service="registry.docker.io", scope="repository:docker/docker:pull", Basic realm="GitHub Package Registry""#,
                vec![docker.clone(), github.clone()],
            ),
            (r#"Bearer realm="x",slashed="he\"\l\lo""#, vec![ch("bearer", &[("realm", "x"), ("slashed", r#"he"llo"#)])]),
            (r#""Basic" "realm"=/"#, vec![ch("basic", &[("realm", "/")])]),
            // Cases of our own.
            ("Basic", vec![ch("basic", &[])]),
            ("  Basic  ", vec![ch("basic", &[])]),
            ("Basic, Bearer realm=x", vec![ch("basic", &[]), ch("bearer", &[("realm", "x")])]),
            (r#"Bearer realm = "x" , service= y"#, vec![ch("bearer", &[("realm", "x"), ("service", "y")])]),
            (r#"Bearer realm="x",,service="y","#, vec![ch("bearer", &[("realm", "x"), ("service", "y")])]),
            (r#"Bearer realm="",service="y""#, vec![ch("bearer", &[("realm", ""), ("service", "y")])]),
            (r#"Bearer realm="a,b=c d""#, vec![ch("bearer", &[("realm", "a,b=c d")])]),
            (r#"Bearer realm="tab	inside""#, vec![ch("bearer", &[("realm", "tab\tinside")])]),
            ("Bearer\trealm=x", vec![ch("bearer", &[("realm", "x")])]),
            (
                r#"Bearer realm="https://r/token",service="s",scope="repository:a:pull",error="insufficient_scope""#,
                vec![ch(
                    "bearer",
                    &[("realm", "https://r/token"), ("service", "s"), ("scope", "repository:a:pull"), ("error", "insufficient_scope")],
                )],
            ),
            (r#"Bearer REALM="x",Service="y""#, vec![ch("bearer", &[("realm", "x"), ("service", "y")])]),
            (r#"Bearer realm="ünïcödé""#, vec![ch("bearer", &[("realm", "ünïcödé")])]),
            ("Basic realm=a, NTLM, Negotiate", vec![ch("basic", &[("realm", "a")]), ch("ntlm", &[]), ch("negotiate", &[])]),
            (
                r#"Bearer realm="https://a/t",scope="repository:host:5000/x:pull""#,
                vec![ch("bearer", &[("realm", "https://a/t"), ("scope", "repository:host:5000/x:pull")])],
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_www_authenticate(input), Ok(want), "input: {input}");
        }
    }

    #[test]
    fn token68_stands_for_the_parameters() {
        let got = parse_www_authenticate("Negotiate YIIabc+/==, Basic realm=x").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].scheme(), "negotiate");
        assert_eq!(got[0].token68(), Some("YIIabc+/=="));
        assert!(got[0].params().is_empty());
        assert_eq!(got[1].realm(), Some("x"));
        let bare = parse_www_authenticate("Custom abc").unwrap();
        assert_eq!(bare[0].token68(), Some("abc"));
    }

    #[test]
    fn rejects_malformed_headers() {
        let cases: Vec<(&str, ChallengeError)> = vec![
            (r#"Basic realm="Dev" charset="UTF-8""#, ChallengeError::MissingComma { at: 18 }),
            (r#"Basic realm="GitHub Package Registry"#, ChallengeError::UnterminatedQuote { at: 12 }),
            (r#"Basic realm="GitHub Package Registry\\"#, ChallengeError::UnterminatedQuote { at: 12 }),
            (r#"Basic realm="abc\"#, ChallengeError::TrailingBackslash { at: 16 }),
            ("", ChallengeError::Empty),
            ("   ", ChallengeError::Empty),
            (" , ,", ChallengeError::Empty),
            ("=realm", ChallengeError::ExpectedScheme { at: 0, found: '=' }),
            (r#"Bearer realm="x"y"#, ChallengeError::MissingComma { at: 16 }),
            (r#"Bearer realm="x", service="#, ChallengeError::MissingValue { key: "service".into(), at: 25 }),
            (r#"Bearer realm="x", service=,"#, ChallengeError::MissingValue { key: "service".into(), at: 25 }),
            (r#""Basic"realm=x"#, ChallengeError::UnexpectedCharacter { at: 7, found: 'r' }),
            (r#"Bearer realm="x", ="y""#, ChallengeError::UnexpectedCharacter { at: 18, found: '=' }),
        ];
        for (input, want) in cases {
            assert_eq!(parse_www_authenticate(input), Err(want), "input: {input}");
        }
    }

    #[test]
    fn errors_say_what_to_fix() {
        let e = parse_www_authenticate(r#"Basic realm="Dev" charset="UTF-8""#).unwrap_err();
        assert!(e.to_string().contains("separated by commas"), "{e}");
        let e = parse_www_authenticate(r#"Basic realm="x"#).unwrap_err();
        assert!(e.to_string().contains("closing double quote"), "{e}");
    }

    #[test]
    fn accessors_ignore_case_and_keep_order() {
        let c =
            &parse_www_authenticate(r#"Bearer Realm="r",SERVICE="s",Scope="a b",Error="insufficient_scope",realm="second""#).unwrap()[0];
        assert_eq!(c.scheme(), "bearer");
        assert_eq!(c.realm(), Some("r"));
        assert_eq!(c.service(), Some("s"));
        assert_eq!(c.scope(), Some("a b"));
        assert_eq!(c.error(), Some("insufficient_scope"));
        assert_eq!(c.param("REALM"), Some("r"));
        assert_eq!(c.param("missing"), None);
        let keys: Vec<&str> = c.params().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["realm", "service", "scope", "error", "realm"]);
    }

    #[test]
    fn parse_all_joins_lines_and_skips_blank_ones() {
        let got = parse_all(&[r#"Bearer realm="a""#, "", r#"Basic realm="b""#]).unwrap();
        assert_eq!(got.iter().map(Challenge::scheme).collect::<Vec<_>>(), ["bearer", "basic"]);
        assert_eq!(parse_all(&[]), Err(ChallengeError::Empty));
        assert_eq!(parse_all(&["", " "]), Err(ChallengeError::Empty));
        assert!(matches!(parse_all(&["Basic realm=a", r#"Bearer realm="x"#]), Err(ChallengeError::UnterminatedQuote { .. })));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_string(s in "\\PC*") {
            let _ = parse_www_authenticate(&s);
        }

        #[test]
        fn never_panics_on_header_like_strings(s in r#"[ \t,="\\a-zA-Z/:é]{0,40}"#) {
            let _ = parse_www_authenticate(&s);
        }

        #[test]
        fn quoted_values_round_trip(v in r#"[^"\\]{0,20}"#) {
            let header = format!(r#"Bearer realm="{v}""#);
            let got = parse_www_authenticate(&header).unwrap();
            proptest::prop_assert_eq!(got[0].realm(), Some(v.as_str()));
        }
    }
}
