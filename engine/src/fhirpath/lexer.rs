//! Tokenizer for FHIRPath expressions.

use super::FhirPathError;

/// A token kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// Identifier; `true` when written with backticks (never a keyword).
    Ident(String, bool),
    /// `'text'` (unescaped).
    Str(String),
    /// Number as written.
    Number(String),
    /// `@...` date or date-time text (without `@`).
    DateTime(String),
    /// `@T...` time text (without `@T`).
    Time(String),
    /// `%name`, `%'name'` or `` %`name` ``.
    Env(String),
    /// `$this`, `$index`, `$total`.
    Special(String),
    /// Punctuation or operator.
    Op(&'static str),
    /// End of input.
    Eof,
}

/// A token with its character offset.
#[derive(Debug, Clone)]
pub struct Token {
    /// The kind.
    pub tok: Tok,
    /// Character offset of the first character.
    pub pos: usize,
    /// Character offset just past the last character.
    pub end: usize,
}

const OPS: [&str; 22] = [
    "<=", ">=", "!=", "!~", ".", "[", "]", "(", ")", "{", "}", ",", "+", "-", "*", "/", "&", "|",
    "=", "~", "<", ">",
];

fn err(pos: usize, msg: impl Into<String>) -> FhirPathError {
    FhirPathError::syntax(pos, msg)
}

fn read_quoted(
    chars: &[char],
    start: usize,
    quote: char,
) -> Result<(String, usize), FhirPathError> {
    let mut i = start + 1;
    let mut out = String::new();
    while i < chars.len() {
        let c = chars[i];
        if c == quote {
            return Ok((out, i + 1));
        }
        if c == '\\' {
            i += 1;
            let e = *chars.get(i).ok_or_else(|| err(i, "unterminated escape"))?;
            match e {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'f' => out.push('\u{c}'),
                '\\' | '/' | '\'' | '"' | '`' => out.push(e),
                'u' => {
                    let hex: String = chars
                        .get(i + 1..i + 5)
                        .map(|s| s.iter().collect())
                        .unwrap_or_default();
                    let Ok(code) = u32::from_str_radix(&hex, 16).map_err(|_| ()).and_then(|c| {
                        if hex.len() == 4 {
                            Ok(c)
                        } else {
                            Err(())
                        }
                    }) else {
                        // A malformed \\u escape keeps the `u` literally (as fhirpath.js does).
                        out.push('u');
                        i += 1;
                        continue;
                    };
                    i += 4;
                    // A UTF-16 surrogate pair spells one character.
                    let low: String = chars
                        .get(i + 3..i + 7)
                        .map(|s| s.iter().collect())
                        .unwrap_or_default();
                    let pair = (0xD800..0xDC00).contains(&code)
                        && chars.get(i + 1) == Some(&'\\')
                        && chars.get(i + 2) == Some(&'u');
                    match u32::from_str_radix(&low, 16) {
                        Ok(lo) if pair && (0xDC00..0xE000).contains(&lo) => {
                            let c = 0x10000 + ((code - 0xD800) << 10) + (lo - 0xDC00);
                            out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                            i += 6;
                        }
                        _ => out.push(char::from_u32(code).unwrap_or('\u{fffd}')),
                    }
                }
                _ => return Err(err(i, format!("unknown escape \\{e}"))),
            }
            i += 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    Err(err(start, "unterminated string"))
}

/// Splits an expression into tokens (comments dropped).
pub fn tokenize(src: &str) -> Result<Vec<Token>, FhirPathError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            let start = i;
            i += 2;
            loop {
                if i + 1 >= chars.len() {
                    return Err(err(start, "unterminated comment"));
                }
                if chars[i] == '*' && chars[i + 1] == '/' {
                    i += 2;
                    break;
                }
                i += 1;
            }
            continue;
        }
        let pos = i;
        let tok = if c == '\'' {
            let (s, end) = read_quoted(&chars, i, '\'')?;
            i = end;
            Tok::Str(s)
        } else if c == '`' {
            let (s, end) = read_quoted(&chars, i, '`')?;
            i = end;
            Tok::Ident(s, true)
        } else if c.is_ascii_digit() {
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            if chars.get(j) == Some(&'.') && chars.get(j + 1).is_some_and(char::is_ascii_digit) {
                j += 1;
                while j < chars.len() && chars[j].is_ascii_digit() {
                    j += 1;
                }
            }
            let s: String = chars[i..j].iter().collect();
            i = j;
            Tok::Number(s)
        } else if c.is_alphabetic() || c == '_' {
            let mut j = i;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            let s: String = chars[i..j].iter().collect();
            i = j;
            Tok::Ident(s, false)
        } else if c == '$' {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            let s: String = chars[i..j].iter().collect();
            if !matches!(s.as_str(), "$this" | "$index" | "$total") {
                return Err(err(i, format!("unknown special variable {s}")));
            }
            i = j;
            Tok::Special(s)
        } else if c == '%' {
            match chars.get(i + 1) {
                // `%"vs-name"` is how FHIR writes some constants.
                Some('\'') | Some('`') | Some('"') => {
                    let (s, end) = read_quoted(&chars, i + 1, chars[i + 1])?;
                    i = end;
                    Tok::Env(s)
                }
                _ => {
                    let mut j = i + 1;
                    while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                        j += 1;
                    }
                    if j == i + 1 {
                        return Err(err(i, "expected a variable name after %"));
                    }
                    let s: String = chars[i + 1..j].iter().collect();
                    i = j;
                    Tok::Env(s)
                }
            }
        } else if c == '@' {
            let mut j = i + 1;
            while j < chars.len()
                && (chars[j].is_ascii_digit()
                    || matches!(chars[j], '-' | ':' | 'T' | 'Z' | '+' | '.'))
            {
                // a '.' only belongs to the literal when a digit follows (fractional seconds)
                if chars[j] == '.' && !chars.get(j + 1).is_some_and(char::is_ascii_digit) {
                    break;
                }
                j += 1;
            }
            let s: String = chars[i + 1..j].iter().collect();
            i = j;
            match s.strip_prefix('T') {
                Some(t) => Tok::Time(t.to_string()),
                None => Tok::DateTime(s),
            }
        } else {
            let rest: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = OPS
                .iter()
                .find(|o| rest.starts_with(**o))
                .ok_or_else(|| err(i, format!("unexpected character '{c}'")))?;
            i += op.chars().count();
            Tok::Op(op)
        };
        out.push(Token { tok, pos, end: i });
    }
    out.push(Token {
        tok: Tok::Eof,
        pos: chars.len(),
        end: chars.len(),
    });
    Ok(out)
}
