"""Phonetics for speech/ and lipsync/ alike: libespeak-ng's timed phonemes, Han text to pinyin."""
