//! Every UI string, in Russian and English. A text is a field of `Texts`, so a language that
//! misses one does not compile; components never hard-code strings.

use crate::model::Lang;

pub struct Texts {
    pub page_title: &'static str,
    pub heading: &'static str,
    pub refresh: &'static str,
    pub hits: &'static str,
    pub misses: &'static str,
    pub hit_rate: &'static str,
    pub hit_rate_lifetime_hint: &'static str,
    pub used_memory: &'static str,
    pub maxmemory: &'static str,
    pub unlimited: &'static str,
    pub total_keys: &'static str,
    pub no_lookups_yet: &'static str,
    pub redis_unavailable: &'static str,
    pub redis_version: &'static str,
    pub policy: &'static str,
    pub read_at: &'static str,
    pub loading: &'static str,
    pub language: &'static str,
}

const RU: Texts = Texts {
    page_title: "Кэш Redis — статистика",
    heading: "Статистика кэша Redis",
    refresh: "Обновить",
    hits: "Попадания",
    misses: "Промахи",
    hit_rate: "Доля попаданий",
    hit_rate_lifetime_hint: "с момента запуска Redis",
    used_memory: "Используемая память",
    maxmemory: "Лимит памяти (maxmemory)",
    unlimited: "без ограничения",
    total_keys: "Всего ключей",
    no_lookups_yet: "обращений ещё не было",
    redis_unavailable: "Redis недоступен",
    redis_version: "Версия Redis",
    policy: "Политика вытеснения",
    read_at: "Данные на",
    loading: "Загрузка…",
    language: "Язык",
};

const EN: Texts = Texts {
    page_title: "Redis cache — statistics",
    heading: "Redis cache statistics",
    refresh: "Refresh",
    hits: "Hits",
    misses: "Misses",
    hit_rate: "Hit rate",
    hit_rate_lifetime_hint: "since Redis started",
    used_memory: "Used memory",
    maxmemory: "Memory limit (maxmemory)",
    unlimited: "unlimited",
    total_keys: "Total keys",
    no_lookups_yet: "no lookups yet",
    redis_unavailable: "Redis unavailable",
    redis_version: "Redis version",
    policy: "Eviction policy",
    read_at: "Data as of",
    loading: "Loading…",
    language: "Language",
};

pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_differ_where_they_should() {
        assert_ne!(texts(Lang::Ru).heading, texts(Lang::En).heading);
        assert_eq!(texts(Lang::En).hits, "Hits");
    }
}
