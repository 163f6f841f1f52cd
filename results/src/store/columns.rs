//! The columns of a row type, read from its own `Deserialize`: the names
//! in declaration order (the order of the CSV header the type writes) and
//! the SQL type each one is stored as. A field added to a row struct is a
//! column of its table without a line here.
//!
//! The derive hands a struct deserializer its field names; a tracing
//! deserializer answers each field's `deserialize_*` call with a zero of
//! the type asked for and records the type (`Option<T>` records `T`).

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::forward_to_deserialize_any;

/// How a column's values are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole number: SQLite `INTEGER`.
    Integer,
    /// A figure: SQLite `REAL` (`NaN`, which SQLite cannot hold, stays text).
    Real,
    /// `true`/`false`: SQLite `INTEGER` 1/0.
    Bool,
    /// Text, and the identifiers that use all 64 bits (seeds, see [`TEXT_INTEGERS`]).
    Text,
}

impl Kind {
    /// The declared SQL type.
    pub fn sql(self) -> &'static str {
        match self {
            Kind::Integer | Kind::Bool => "INTEGER",
            Kind::Real => "REAL",
            Kind::Text => "TEXT",
        }
    }
}

/// Integer fields stored as text: seeds are identifiers drawn from all 64
/// bits (crash trial seeds are hashes), and SQLite's integers are signed:
/// a seed above 2^63 would come back as a rounded float.
pub const TEXT_INTEGERS: &[&str] = &["seed", "first_failing_seed"];

/// One column of a row type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The field's serialized name: the CSV header and the SQL column.
    pub name: &'static str,
    /// How its values are stored.
    pub kind: Kind,
}

/// The columns of `T`, a struct of plain fields (numbers, bools, strings
/// and options of them), in declaration order.
pub fn columns_of<T: DeserializeOwned>() -> Result<Vec<Column>, String> {
    let mut out = Vec::new();
    T::deserialize(StructTracer { out: &mut out }).map_err(|e| e.to_string())?;
    for c in &mut out {
        if c.kind == Kind::Integer && TEXT_INTEGERS.contains(&c.name) {
            c.kind = Kind::Text;
        }
    }
    Ok(out)
}

type Error = de::value::Error;

struct StructTracer<'a> {
    out: &'a mut Vec<Column>,
}

impl<'de> de::Deserializer<'de> for StructTracer<'_> {
    type Error = Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_map(Fields {
            fields,
            next: 0,
            out: self.out,
        })
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        Err(de::Error::custom(
            "a row type must be a struct of named fields",
        ))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

struct Fields<'a> {
    fields: &'static [&'static str],
    next: usize,
    out: &'a mut Vec<Column>,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.fields.get(self.next) {
            None => Ok(None),
            Some(&name) => seed
                .deserialize(IntoDeserializer::<Error>::into_deserializer(name))
                .map(Some),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let name = self
            .fields
            .get(self.next)
            .copied()
            .ok_or_else(|| de::Error::custom("a value without a field"))?;
        self.next += 1;
        let mut kind = None;
        let value = seed
            .deserialize(FieldTracer { kind: &mut kind })
            .map_err(|e| de::Error::custom(format!("field `{name}`: {e}")))?;
        let kind = kind.ok_or_else(|| {
            de::Error::custom(format!("field `{name}` is not a number, bool or string"))
        })?;
        self.out.push(Column { name, kind });
        Ok(value)
    }
}

/// Answers one field's request with a zero of the type asked for.
struct FieldTracer<'a> {
    kind: &'a mut Option<Kind>,
}

macro_rules! traced {
    ($($method:ident => $kind:ident, $visit:ident($zero:expr);)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            *self.kind = Some(Kind::$kind);
            visitor.$visit($zero)
        })*
    };
}

impl<'de> de::Deserializer<'de> for FieldTracer<'_> {
    type Error = Error;

    traced! {
        deserialize_bool => Bool, visit_bool(false);
        deserialize_i8 => Integer, visit_i8(0);
        deserialize_i16 => Integer, visit_i16(0);
        deserialize_i32 => Integer, visit_i32(0);
        deserialize_i64 => Integer, visit_i64(0);
        deserialize_u8 => Integer, visit_u8(0);
        deserialize_u16 => Integer, visit_u16(0);
        deserialize_u32 => Integer, visit_u32(0);
        deserialize_u64 => Integer, visit_u64(0);
        deserialize_f32 => Real, visit_f32(0.0);
        deserialize_f64 => Real, visit_f64(0.0);
        deserialize_char => Text, visit_char(' ');
        deserialize_str => Text, visit_str("");
        deserialize_string => Text, visit_str("");
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        Err(de::Error::custom("not a number, bool or string"))
    }

    forward_to_deserialize_any! {
        i128 u128 bytes byte_buf unit unit_struct seq tuple tuple_struct map
        struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        threads: u32,
        seed: u64,
        ops_per_sec: f64,
        ceiling: Option<f64>,
        syncs: Option<u64>,
        noisy: Option<bool>,
        ok: bool,
    }

    #[test]
    fn fields_come_in_order_with_their_types() {
        let got: Vec<(&str, Kind)> = columns_of::<Sample>()
            .unwrap()
            .into_iter()
            .map(|c| (c.name, c.kind))
            .collect();
        assert_eq!(
            got,
            [
                ("name", Kind::Text),
                ("threads", Kind::Integer),
                ("seed", Kind::Text),
                ("ops_per_sec", Kind::Real),
                ("ceiling", Kind::Real),
                ("syncs", Kind::Integer),
                ("noisy", Kind::Bool),
                ("ok", Kind::Bool),
            ]
        );
    }

    #[test]
    fn a_row_type_with_a_nested_field_is_refused() {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Nested {
            a: u32,
            b: Vec<u32>,
        }
        let e = columns_of::<Nested>().unwrap_err();
        assert!(e.contains("`b`"), "{e}");
        assert!(columns_of::<u32>().is_err());
    }

    #[test]
    fn every_results_row_type_traces_like_its_csv_header() {
        // The header write_csv writes is the field order the tracer sees.
        fn header<T: serde::Serialize + Default>() -> Vec<String> {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.serialize(T::default()).unwrap();
            let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
            text.lines()
                .next()
                .unwrap()
                .split(',')
                .map(String::from)
                .collect()
        }
        fn names<T: DeserializeOwned>() -> Vec<String> {
            columns_of::<T>()
                .unwrap()
                .iter()
                .map(|c| c.name.to_string())
                .collect()
        }
        assert_eq!(names::<crate::RunRow>(), header::<crate::RunRow>());
        assert_eq!(names::<crate::CrashRow>(), header::<crate::CrashRow>());
        assert_eq!(
            names::<crate::RecoveryRow>(),
            header::<crate::RecoveryRow>()
        );
        assert_eq!(
            names::<crate::CapacityRow>(),
            header::<crate::CapacityRow>()
        );
        assert_eq!(
            names::<crate::TimelineRow>(),
            header::<crate::TimelineRow>()
        );
    }
}
