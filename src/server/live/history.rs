//! Bounded in-memory history of one Redis: the last hour at sample resolution and the last
//! 24 hours as 1-minute rollups (min / avg / max). Memory is fixed by the capacities,
//! whatever the uptime.

use std::collections::VecDeque;

use crate::model::live::{HistoryRange, Point};

const MINUTE_MS: i64 = 60_000;
const ROLLUP_MINUTES: usize = 24 * 60;

/// min / avg / max of one figure over a minute.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Spread {
    pub min: f64,
    pub max: f64,
    sum: f64,
    count: u32,
}

impl Spread {
    fn add(this: &mut Option<Spread>, value: Option<f64>) {
        let Some(value) = value else { return };
        let spread = this.get_or_insert(Spread {
            min: value,
            max: value,
            sum: 0.0,
            count: 0,
        });
        spread.min = spread.min.min(value);
        spread.max = spread.max.max(value);
        spread.sum += value;
        spread.count += 1;
    }

    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / f64::from(self.count)
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MinuteRollup {
    pub minute_start_ms: i64,
    pub hit_rate_percent: Option<Spread>,
    pub ops_per_sec: Option<Spread>,
    pub evicted_per_sec: Option<Spread>,
    pub used_memory_bytes: Option<Spread>,
    pub maxmemory_bytes: u64,
    pub total_keys: u64,
}

impl MinuteRollup {
    /// One line for Redis: `minute;hit;ops;evicted;memory;maxmemory;keys`, each spread as
    /// `min,max,sum,count` (empty when the minute had none).
    pub fn encode(&self) -> String {
        let spread = |spread: &Option<Spread>| {
            spread.map_or(String::new(), |s| {
                format!("{},{},{},{}", s.min, s.max, s.sum, s.count)
            })
        };
        format!(
            "{};{};{};{};{};{};{}",
            self.minute_start_ms,
            spread(&self.hit_rate_percent),
            spread(&self.ops_per_sec),
            spread(&self.evicted_per_sec),
            spread(&self.used_memory_bytes),
            self.maxmemory_bytes,
            self.total_keys
        )
    }

    /// The minute `encode` wrote; `None` for anything else.
    pub fn decode(line: &str) -> Option<Self> {
        let parts: Vec<&str> = line.split(';').collect();
        let [minute, hit, ops, evicted, memory, maxmemory, keys] = parts.as_slice() else {
            return None;
        };
        let spread = |text: &str| -> Option<Option<Spread>> {
            if text.is_empty() {
                return Some(None);
            }
            let numbers: Vec<&str> = text.split(',').collect();
            let [min, max, sum, count] = numbers.as_slice() else {
                return None;
            };
            let spread = Spread {
                min: min.parse().ok()?,
                max: max.parse().ok()?,
                sum: sum.parse().ok()?,
                count: count.parse().ok()?,
            };
            let finite = [spread.min, spread.max, spread.sum]
                .iter()
                .all(|v| v.is_finite());
            (finite && spread.count > 0).then_some(Some(spread))
        };
        Some(Self {
            minute_start_ms: minute.parse().ok()?,
            hit_rate_percent: spread(hit)?,
            ops_per_sec: spread(ops)?,
            evicted_per_sec: spread(evicted)?,
            used_memory_bytes: spread(memory)?,
            maxmemory_bytes: maxmemory.parse().ok()?,
            total_keys: keys.parse().ok()?,
        })
    }

    fn start(minute_start_ms: i64) -> Self {
        Self {
            minute_start_ms,
            ..Default::default()
        }
    }

    fn add(&mut self, point: &Point) {
        Spread::add(&mut self.hit_rate_percent, point.hit_rate_percent);
        Spread::add(&mut self.ops_per_sec, point.ops_per_sec);
        Spread::add(&mut self.evicted_per_sec, point.evicted_per_sec);
        Spread::add(
            &mut self.used_memory_bytes,
            Some(point.used_memory_bytes as f64),
        );
        self.maxmemory_bytes = point.maxmemory_bytes;
        self.total_keys = point.total_keys;
    }

    /// The minute as a chart point (averages), stamped at the minute's start.
    fn as_point(&self) -> Point {
        Point {
            at_ms: self.minute_start_ms,
            hit_rate_percent: self.hit_rate_percent.map(|s| s.avg()),
            ops_per_sec: self.ops_per_sec.map(|s| s.avg()),
            evicted_per_sec: self.evicted_per_sec.map(|s| s.avg()),
            used_memory_bytes: self.used_memory_bytes.map_or(0, |s| s.avg().round() as u64),
            maxmemory_bytes: self.maxmemory_bytes,
            total_keys: self.total_keys,
        }
    }
}

pub struct History {
    recent: VecDeque<Point>,
    recent_capacity: usize,
    minutes: VecDeque<MinuteRollup>,
    current_minute: Option<MinuteRollup>,
}

impl History {
    /// Room for one hour of points at `sample_interval_ms`, and 24 hours of minutes.
    pub fn new(sample_interval_ms: u64) -> Self {
        let recent_capacity = (3_600_000 / sample_interval_ms.max(1)) as usize + 1;
        Self {
            recent: VecDeque::with_capacity(recent_capacity),
            recent_capacity,
            minutes: VecDeque::with_capacity(ROLLUP_MINUTES),
            current_minute: None,
        }
    }

    /// Adds a sample; the minute it closed, if any (to be persisted).
    pub fn push(&mut self, point: Point) -> Option<MinuteRollup> {
        if self.recent.len() == self.recent_capacity {
            self.recent.pop_front();
        }
        self.recent.push_back(point);

        let minute_start = point.at_ms - point.at_ms.rem_euclid(MINUTE_MS);
        match &mut self.current_minute {
            Some(minute) if minute.minute_start_ms == minute_start => minute.add(&point),
            current => {
                let finished = current.take();
                if let Some(finished) = finished {
                    if self.minutes.len() == ROLLUP_MINUTES {
                        self.minutes.pop_front();
                    }
                    self.minutes.push_back(finished);
                }
                let mut minute = MinuteRollup::start(minute_start);
                minute.add(&point);
                *current = Some(minute);
                return finished;
            }
        }
        None
    }

    /// Minutes persisted by an earlier run (oldest first): kept before anything sampled now,
    /// at most a day of them.
    pub fn seed(&mut self, persisted: Vec<MinuteRollup>) {
        let first_own = self
            .minutes
            .front()
            .or(self.current_minute.as_ref())
            .map_or(i64::MAX, |minute| minute.minute_start_ms);
        let mut earlier: Vec<MinuteRollup> = persisted
            .into_iter()
            .filter(|minute| minute.minute_start_ms < first_own)
            .collect();
        earlier.sort_by_key(|minute| minute.minute_start_ms);
        earlier.dedup_by_key(|minute| minute.minute_start_ms);
        for minute in earlier.into_iter().rev() {
            if self.minutes.len() == ROLLUP_MINUTES {
                break;
            }
            self.minutes.push_front(minute);
        }
    }

    /// Chart points covering `range` up to `now_ms`, oldest first.
    pub fn series(&self, range: HistoryRange, now_ms: i64) -> Vec<Point> {
        let since = now_ms - range.millis();
        if range.uses_rollups() {
            self.minutes
                .iter()
                .chain(self.current_minute.iter())
                .filter(|minute| minute.minute_start_ms >= since)
                .map(MinuteRollup::as_point)
                .collect()
        } else {
            self.recent
                .iter()
                .filter(|point| point.at_ms >= since)
                .copied()
                .collect()
        }
    }

    pub fn rollups(&self) -> impl Iterator<Item = &MinuteRollup> {
        self.minutes.iter().chain(self.current_minute.iter())
    }

    /// Stored points and minutes (for the memory bound test).
    pub fn len(&self) -> (usize, usize) {
        (self.recent.len(), self.minutes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(at_ms: i64, hit_rate: f64, memory: u64) -> Point {
        Point {
            at_ms,
            hit_rate_percent: Some(hit_rate),
            ops_per_sec: Some(10.0),
            used_memory_bytes: memory,
            ..Default::default()
        }
    }

    #[test]
    fn storage_is_bounded_whatever_the_uptime() {
        let mut history = History::new(2000);
        // Three days of samples every 2 s.
        for i in 0..(3 * 24 * 1800) {
            history.push(point(i * 2000, 80.0, 1));
        }
        let (recent, minutes) = history.len();
        assert_eq!(recent, 1801);
        assert_eq!(minutes, ROLLUP_MINUTES);
    }

    #[test]
    fn minute_rollups_keep_min_avg_max() {
        let mut history = History::new(2000);
        for (i, rate) in [60.0, 80.0, 100.0].into_iter().enumerate() {
            history.push(point(i as i64 * 2000, rate, 100));
        }
        let minute = history.rollups().next().copied().unwrap();
        let spread = minute.hit_rate_percent.unwrap();
        assert_eq!((spread.min, spread.avg(), spread.max), (60.0, 80.0, 100.0));
    }

    #[test]
    fn short_ranges_use_samples_and_long_ranges_use_minutes() {
        let mut history = History::new(2000);
        let now = 2 * 3_600_000;
        for i in 0..3600 {
            history.push(point(i * 2000, 90.0, 5));
        }
        let fifteen = history.series(HistoryRange::Minutes15, now);
        assert!(
            fifteen.len() >= 449 && fifteen.len() <= 451,
            "{}",
            fifteen.len()
        );
        let six_hours = history.series(HistoryRange::Hours6, now);
        assert_eq!(six_hours.len(), 120);
        assert!(
            six_hours
                .windows(2)
                .all(|w| w[1].at_ms - w[0].at_ms == MINUTE_MS)
        );
    }

    #[test]
    fn a_minute_survives_its_encoding_and_garbage_is_refused() {
        let mut history = History::new(2000);
        for (i, rate) in [60.0, 80.0, 100.0].into_iter().enumerate() {
            history.push(point(i as i64 * 2000, rate, 100 + i as u64));
        }
        let minute = history.rollups().next().copied().unwrap();
        assert_eq!(MinuteRollup::decode(&minute.encode()), Some(minute));
        let gap = MinuteRollup::start(60_000);
        assert_eq!(MinuteRollup::decode(&gap.encode()), Some(gap));
        for garbage in [
            "",
            "1;2",
            "x;;;;;0;0",
            "0;NaN,1,1,1;;;;0;0",
            "0;1,1,1,0;;;;0;0",
        ] {
            assert_eq!(MinuteRollup::decode(garbage), None, "{garbage}");
        }
    }

    #[test]
    fn persisted_minutes_go_before_the_new_ones_once_each_and_bounded() {
        let mut history = History::new(2000);
        let closed = history.push(point(10 * MINUTE_MS, 90.0, 1));
        assert_eq!(closed, None);
        let closed = history.push(point(11 * MINUTE_MS, 90.0, 1));
        assert_eq!(closed.map(|m| m.minute_start_ms), Some(10 * MINUTE_MS));
        let old = |minute: i64| MinuteRollup::start(minute * MINUTE_MS);
        // Overlapping and repeated minutes from the store are dropped.
        history.seed(vec![old(9), old(8), old(9), old(10), old(11)]);
        let minutes: Vec<i64> = history
            .rollups()
            .map(|m| m.minute_start_ms / MINUTE_MS)
            .collect();
        assert_eq!(minutes, [8, 9, 10, 11]);
        let mut full = History::new(2000);
        full.seed((0..2 * ROLLUP_MINUTES as i64).map(old).collect());
        assert_eq!(full.len().1, ROLLUP_MINUTES);
        assert_eq!(
            full.rollups().last().map(|m| m.minute_start_ms),
            Some((2 * ROLLUP_MINUTES as i64 - 1) * MINUTE_MS),
            "the newest day is kept"
        );
    }

    #[test]
    fn gaps_after_resets_stay_gaps_in_rollups() {
        let mut history = History::new(2000);
        history.push(Point {
            at_ms: 0,
            ..Default::default()
        });
        let minute = history.rollups().next().copied().unwrap();
        assert_eq!(minute.hit_rate_percent, None);
        assert_eq!(
            history.series(HistoryRange::Hours24, 1000)[0].hit_rate_percent,
            None
        );
    }
}
