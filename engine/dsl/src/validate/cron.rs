//! Saying which field of a cron expression is wrong, and what it allows:
//! croner's own errors name neither.

/// The five fields, in order: name, lowest and highest value.
const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
];

/// What is wrong with `cron`'s fields, when it can be said: the count, or
/// the first number out of its field's range.
pub(super) fn field_problem(cron: &str) -> Option<String> {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    if fields.len() != FIELDS.len() {
        return Some(format!(
            "it has {} fields; a cron expression has five: minute hour day-of-month month day-of-week",
            fields.len()
        ));
    }
    for (text, (name, low, high)) in fields.iter().zip(FIELDS) {
        // Each part of a list, each end of a range; a step (`*/5`) is a
        // count, not a value of the field.
        let values = text
            .split(',')
            .map(|part| part.split('/').next().unwrap_or(part))
            .flat_map(|range| range.split('-'));
        for value in values {
            if let Ok(number) = value.parse::<u32>()
                && !(low..=high).contains(&number)
            {
                return Some(format!(
                    "{name} `{number}` is out of range: the {name} field takes {low}-{high}"
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_field_and_its_range() {
        assert_eq!(
            field_problem("61 * * * *").as_deref(),
            Some("minute `61` is out of range: the minute field takes 0-59")
        );
        assert_eq!(
            field_problem("0 2 * 13 *").as_deref(),
            Some("month `13` is out of range: the month field takes 1-12")
        );
        assert_eq!(
            field_problem("0 2 1-32/2 * *").as_deref(),
            Some("day-of-month `32` is out of range: the day-of-month field takes 1-31")
        );
        assert!(
            field_problem("* * *")
                .unwrap()
                .starts_with("it has 3 fields")
        );
        assert_eq!(field_problem("*/5 0-23 1,15 JAN-DEC MON-FRI"), None);
    }
}
