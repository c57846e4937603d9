//! Syntax checks for code systems that are grammars rather than lists:
//! UCUM unit expressions, BCP-47 language tags and MIME types.
//!
//! The UCUM check follows the grammar of the UCUM specification (§ 2):
//! a term is components joined by `.` and `/`, optionally led by `/`; a
//! component is a (prefixed) atom with an optional exponent, a factor, an
//! annotation `{...}`, or a parenthesised term; any unit may carry an
//! annotation. Atoms come from a table of the UCUM units in common use
//! (base units, SI and clinical units, customary units, arbitrary units).

use std::sync::OnceLock;

/// UCUM prefixes (case-sensitive form).
const PREFIXES: &[&str] = &[
    "Y", "Z", "E", "P", "T", "G", "M", "k", "h", "da", "d", "c", "m", "u", "n", "p", "f", "a", "z",
    "y", "Ki", "Mi", "Gi", "Ti",
];

/// Atoms that take prefixes (UCUM `isMetric="yes"`).
const METRIC: &[&str] = &[
    "m", "s", "g", "rad", "K", "C", "cd", "mol", "sr", "Hz", "N", "Pa", "J", "W", "A", "V", "F",
    "Ohm", "S", "Wb", "Cel", "T", "H", "lm", "lx", "Bq", "Gy", "Sv", "l", "L", "ar", "t", "bar",
    "u", "eV", "pc", "[c]", "[h]", "[k]", "[eps_0]", "[mu_0]", "[e]", "[m_e]", "[m_p]", "[G]",
    "[g]", "[ly]", "gf", "Ky", "Gal", "dyn", "erg", "P", "Bi", "St", "Mx", "G", "Oe", "Gb", "sb",
    "Lmb", "ph", "Ci", "R", "RAD", "REM", "cal_[15]", "cal_[20]", "cal_m", "cal_IT", "cal_th",
    "cal", "tex", "m[H2O]", "m[Hg]", "[iU]", "[IU]", "eq", "osm", "g%", "kat", "U", "Np", "B",
    "B[SPL]", "B[V]", "B[mV]", "B[uV]", "B[10.nV]", "B[W]", "B[kW]", "st", "mho", "bit", "By",
    "Bd", "[CFU]",
];

/// Atoms that do not take prefixes.
const NON_METRIC: &[&str] = &[
    "10*",
    "10^",
    "[pi]",
    "%",
    "[ppth]",
    "[ppm]",
    "[ppb]",
    "[pptr]",
    "mo",
    "mo_s",
    "mo_j",
    "mo_g",
    "wk",
    "a",
    "a_t",
    "a_j",
    "a_g",
    "d",
    "h",
    "min",
    "'",
    "''",
    "deg",
    "gon",
    "circ",
    "sph",
    "[in_i]",
    "[ft_i]",
    "[yd_i]",
    "[mi_i]",
    "[fth_i]",
    "[nmi_i]",
    "[kn_i]",
    "[sin_i]",
    "[sft_i]",
    "[syd_i]",
    "[cin_i]",
    "[cft_i]",
    "[cyd_i]",
    "[bf_i]",
    "[cr_i]",
    "[mil_i]",
    "[cml_i]",
    "[hd_i]",
    "[ft_us]",
    "[yd_us]",
    "[in_us]",
    "[rd_us]",
    "[ch_us]",
    "[lk_us]",
    "[rch_us]",
    "[rlk_us]",
    "[fur_us]",
    "[mi_us]",
    "[acr_us]",
    "[srd_us]",
    "[smi_us]",
    "[sct]",
    "[twp]",
    "[mil_us]",
    "[in_br]",
    "[ft_br]",
    "[rd_br]",
    "[ch_br]",
    "[lk_br]",
    "[fth_br]",
    "[pc_br]",
    "[yd_br]",
    "[mi_br]",
    "[nmi_br]",
    "[kn_br]",
    "[acr_br]",
    "[gal_us]",
    "[bbl_us]",
    "[qt_us]",
    "[pt_us]",
    "[gil_us]",
    "[foz_us]",
    "[fdr_us]",
    "[min_us]",
    "[crd_us]",
    "[bu_us]",
    "[gal_wi]",
    "[pk_us]",
    "[dqt_us]",
    "[dpt_us]",
    "[tbs_us]",
    "[tsp_us]",
    "[cup_us]",
    "[foz_m]",
    "[cup_m]",
    "[tsp_m]",
    "[tbs_m]",
    "[gal_br]",
    "[pk_br]",
    "[bu_br]",
    "[qt_br]",
    "[pt_br]",
    "[gil_br]",
    "[foz_br]",
    "[fdr_br]",
    "[min_br]",
    "[gr]",
    "[lb_av]",
    "[oz_av]",
    "[dr_av]",
    "[scwt_av]",
    "[lcwt_av]",
    "[ston_av]",
    "[lton_av]",
    "[stone_av]",
    "[pwt_tr]",
    "[oz_tr]",
    "[lb_tr]",
    "[sc_ap]",
    "[dr_ap]",
    "[oz_ap]",
    "[lb_ap]",
    "[oz_m]",
    "[lne]",
    "[pnt]",
    "[pca]",
    "[pnt_pr]",
    "[pca_pr]",
    "[pied]",
    "[pouce]",
    "[ligne]",
    "[didot]",
    "[cicero]",
    "[degF]",
    "[degR]",
    "[degRe]",
    "[Cal]",
    "[Btu_39]",
    "[Btu_59]",
    "[Btu_60]",
    "[Btu_m]",
    "[Btu_IT]",
    "[Btu_th]",
    "[Btu]",
    "[HP]",
    "[den]",
    "[in_i'H2O]",
    "[in_i'Hg]",
    "[PRU]",
    "[wood'U]",
    "[diop]",
    "[p'diop]",
    "%[slope]",
    "[mesh_i]",
    "[Ch]",
    "[drp]",
    "[hnsf'U]",
    "[MET]",
    "[hp'_X]",
    "[hp'_C]",
    "[hp'_M]",
    "[hp'_Q]",
    "[hp_X]",
    "[hp_C]",
    "[hp_M]",
    "[hp_Q]",
    "[kp_X]",
    "[kp_C]",
    "[kp_M]",
    "[kp_Q]",
    "[pH]",
    "[S]",
    "[HPF]",
    "[LPF]",
    "[arb'U]",
    "[USP'U]",
    "[GPL'U]",
    "[MPL'U]",
    "[APL'U]",
    "[beth'U]",
    "[anti'Xa'U]",
    "[todd'U]",
    "[dye'U]",
    "[smgy'U]",
    "[bdsk'U]",
    "[ka'U]",
    "[knk'U]",
    "[mclg'U]",
    "[tb'U]",
    "[CCID_50]",
    "[TCID_50]",
    "[EID_50]",
    "[PFU]",
    "[FFU]",
    "[IR]",
    "[BAU]",
    "[AU]",
    "[Amb'a'1'U]",
    "[PNU]",
    "[Lf]",
    "[D'ag'U]",
    "[FEU]",
    "[ELU]",
    "[EU]",
    "Ao",
    "b",
    "att",
    "[psi]",
    "[car_m]",
    "[car_Au]",
    "[smoot]",
    "[m/s2/Hz^(1/2)]",
    "bit_s",
];

fn is_metric(atom: &str) -> bool {
    METRIC.contains(&atom)
}

fn is_atom(atom: &str) -> bool {
    is_metric(atom) || NON_METRIC.contains(&atom)
}

/// An atom, or a prefix followed by a metric atom.
fn is_simple_unit(s: &str) -> bool {
    if is_atom(s) {
        return true;
    }
    PREFIXES
        .iter()
        .any(|p| s.strip_prefix(p).is_some_and(is_metric))
}

/// A simple unit with an optional signed integer exponent (`m2`, `10*-3`),
/// or a factor (digits only).
fn is_annotatable(token: &str) -> bool {
    if token.bytes().all(|b| b.is_ascii_digit()) {
        return !token.is_empty();
    }
    if is_simple_unit(token) {
        return true;
    }
    let digits = token
        .bytes()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        return false;
    }
    let mut base = &token[..token.len() - digits];
    if let Some(b) = base.strip_suffix(['+', '-']) {
        base = b;
    }
    !base.is_empty() && is_simple_unit(base)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn term(&mut self, depth: usize) -> bool {
        if depth > 16 || !self.component(depth) {
            return false;
        }
        while let Some(b'.' | b'/') = self.peek() {
            self.i += 1;
            if !self.component(depth) {
                return false;
            }
        }
        true
    }

    fn annotation(&mut self) -> bool {
        // at '{'
        self.i += 1;
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'}' => return true,
                b'{' => return false,
                33..=126 => {}
                _ => return false,
            }
        }
        false
    }

    fn component(&mut self, depth: usize) -> bool {
        match self.peek() {
            None => false,
            Some(b'(') => {
                self.i += 1;
                if !self.term(depth + 1) || self.peek() != Some(b')') {
                    return false;
                }
                self.i += 1;
                true
            }
            Some(b'{') => self.annotation(),
            Some(_) => {
                let start = self.i;
                let mut bracket = 0usize;
                while let Some(c) = self.peek() {
                    match c {
                        b'[' => bracket += 1,
                        b']' => {
                            if bracket == 0 {
                                return false;
                            }
                            bracket -= 1
                        }
                        b'.' | b'/' | b'(' | b')' | b'{' if bracket == 0 => break,
                        33..=126 => {}
                        _ => return false,
                    }
                    self.i += 1;
                }
                if bracket != 0 {
                    return false;
                }
                let token = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
                if !is_annotatable(token) {
                    return false;
                }
                if self.peek() == Some(b'{') {
                    return self.annotation();
                }
                true
            }
        }
    }
}

/// True if `code` is a syntactically valid UCUM (case-sensitive) unit
/// expression built from the common unit table.
pub fn is_valid_ucum(code: &str) -> bool {
    if code.is_empty() || code.len() > 256 {
        return false;
    }
    let mut p = Parser {
        s: code.as_bytes(),
        i: 0,
    };
    if p.peek() == Some(b'/') {
        p.i += 1;
    }
    p.term(0) && p.i == code.len()
}

/// True if `tag` is a well-formed BCP-47 language tag (RFC 5646 syntax;
/// subtags are not looked up in the IANA registry).
pub fn is_valid_bcp47(tag: &str) -> bool {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(concat!(
            "^(?:",
            "(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})",
            "(?:-[A-Za-z]{4})?",
            "(?:-(?:[A-Za-z]{2}|[0-9]{3}))?",
            "(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*",
            "(?:-[0-9A-WYZa-wyz](?:-[A-Za-z0-9]{2,8})+)*",
            "(?:-[xX](?:-[A-Za-z0-9]{1,8})+)?",
            "|[xX](?:-[A-Za-z0-9]{1,8})+",
            "|[iI]-[A-Za-z]{2,8}",
            "|en-GB-oed|sgn-[A-Z]{2}-[A-Z]{2}",
            ")$"
        ))
        .expect("valid BCP-47 regex")
    })
    .is_match(tag)
}

/// True if `code` looks like a MIME type (`type/subtype`, optional
/// parameters), as used by `urn:ietf:bcp:13`.
pub fn is_valid_mime_type(code: &str) -> bool {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+*-]+(?:\s*;\s*[A-Za-z0-9!#$&^_.+-]+=[^;]+)*$",
        )
        .expect("valid MIME regex")
    })
    .is_match(code)
}
