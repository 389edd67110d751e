//! How the visitors walk what the events hold: a sequence's elements or a
//! mapping's entries, nothing (an empty plain scalar read as an empty
//! container), and an enum's unit variant.

use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess};

use super::libyaml::Event;
use super::{Events, Refused};

/// The elements of a sequence or the entries of a mapping, read until its
/// end event, which is left for [`Events::container`] to take.
pub(super) struct Entries<'r, 'a> {
    pub(super) events: &'r mut Events<'a>,
}

impl Entries<'_, '_> {
    fn at_end(&mut self) -> Result<bool, Refused> {
        Ok(matches!(
            self.events.peek()?,
            Event::SequenceEnd | Event::MappingEnd
        ))
    }

    /// The next element of a sequence or key of a mapping; `None` at its end.
    #[inline]
    fn next_seed<'de, S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Refused> {
        if self.at_end()? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.events).map(Some)
    }
}

impl<'de> SeqAccess<'de> for Entries<'_, '_> {
    type Error = Refused;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Refused> {
        self.next_seed(seed)
    }
}

impl<'de> MapAccess<'de> for Entries<'_, '_> {
    type Error = Refused;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Refused> {
        self.next_seed(seed)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Refused> {
        seed.deserialize(&mut *self.events)
    }
}

/// A container with nothing in it.
pub(super) struct Empty;

impl<'de> SeqAccess<'de> for Empty {
    type Error = Refused;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        _seed: T,
    ) -> Result<Option<T::Value>, Refused> {
        Ok(None)
    }
}

impl<'de> MapAccess<'de> for Empty {
    type Error = Refused;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        _seed: K,
    ) -> Result<Option<K::Value>, Refused> {
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, _seed: V) -> Result<V::Value, Refused> {
        Err(de::Error::custom("a value asked for with no key"))
    }
}

/// An enum written as a scalar: the scalar names the variant, which must
/// be a unit variant.
pub(super) struct UnitVariant<'r, 'a> {
    pub(super) events: &'r mut Events<'a>,
}

impl<'de, 'r, 'a> EnumAccess<'de> for UnitVariant<'r, 'a> {
    type Error = Refused;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Refused> {
        let variant = seed.deserialize(&mut *self.events)?;
        Ok((variant, self))
    }
}

impl<'de> VariantAccess<'de> for UnitVariant<'_, '_> {
    type Error = Refused;

    fn unit_variant(self) -> Result<(), Refused> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, Refused> {
        Err(unit_only(&"newtype variant"))
    }

    fn tuple_variant<V: de::Visitor<'de>>(
        self,
        _len: usize,
        _visitor: V,
    ) -> Result<V::Value, Refused> {
        Err(unit_only(&"tuple variant"))
    }

    fn struct_variant<V: de::Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Refused> {
        Err(unit_only(&"struct variant"))
    }
}

fn unit_only(expected: &dyn de::Expected) -> Refused {
    de::Error::invalid_type(de::Unexpected::UnitVariant, expected)
}
