#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| punte_fuzz::indicator_csv(data));
