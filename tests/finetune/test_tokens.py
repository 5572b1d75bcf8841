"""Token cache: documents joined with EOS, cached on disk, reused until the content changes."""

from __future__ import annotations

import numpy as np
import pytest

from finetune import corpus
from finetune.tokenizer import load_tokenizer
from finetune.tokens import prepare_tokens
from gpt2gguf.constants import EOS_TOKEN_ID

DOCS = ["The fox ran.", '"Why?" asked the hen.', "The end \u2014 or is it\u2026"]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


def _write_books(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for i, doc in enumerate(DOCS):
        (folder / f"{i}.txt").write_text(doc + "\n")
    val = folder.parent / "val.txt"
    val.write_text("A held-out line; with a question?\n")
    return folder, val


def test_documents_are_joined_with_eos_50256(tmp_path, tokenizer):
    books, val = _write_books(tmp_path / "books")
    data = prepare_tokens([str(books)], [str(val)], tokenizer, EOS_TOKEN_ID, tmp_path / "cache")
    expected = []
    for doc in DOCS:
        expected += tokenizer.encode(doc).ids + [50256]
    assert data.train.dtype == np.uint16
    assert data.train.tolist() == expected
    assert data.val.tolist() == tokenizer.encode("A held-out line; with a question?").ids + [50256]
    assert data.summary["train_documents"] == 3


def test_second_run_on_the_same_data_is_a_cache_hit_without_cleaning(
    tmp_path, tokenizer, monkeypatch, capsys
):
    books, val = _write_books(tmp_path / "books")
    first = prepare_tokens([str(books)], [str(val)], tokenizer, EOS_TOKEN_ID, tmp_path / "cache")
    capsys.readouterr()

    def no_cleaning(*_a, **_k):
        raise AssertionError("a cache hit must not read and clean the corpus again")

    monkeypatch.setattr(corpus, "load_documents", no_cleaning)
    second = prepare_tokens([str(books)], [str(val)], tokenizer, EOS_TOKEN_ID, tmp_path / "cache")
    assert "token cache hit" in capsys.readouterr().err
    assert second.cache_dir == first.cache_dir
    assert isinstance(second.train, np.memmap)
    assert np.array_equal(second.train, first.train)
    assert np.array_equal(second.val, first.val)
    assert second.summary == first.summary
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first.cache_dir.name]


def test_changing_a_files_content_changes_the_cache_key(tmp_path, tokenizer):
    books, val = _write_books(tmp_path / "books")
    first = prepare_tokens([str(books)], [str(val)], tokenizer, EOS_TOKEN_ID, tmp_path / "cache")
    (books / "1.txt").write_text('"Why not?" asked the hen.\n')
    second = prepare_tokens([str(books)], [str(val)], tokenizer, EOS_TOKEN_ID, tmp_path / "cache")
    assert second.cache_dir != first.cache_dir
    assert tokenizer.encode('"Why not?" asked the hen.').ids[1] in second.train.tolist()
    assert not np.array_equal(np.asarray(second.train), np.asarray(first.train))


def test_without_val_data_the_split_holds_out_text_and_keeps_it_out_of_train(tmp_path, tokenizer):
    books = tmp_path / "books"
    books.mkdir()
    (books / "all.txt").write_text(
        "\n<|endoftext|>\n".join(f"Tale {i}: the owl hooted {i} times." for i in range(400))
    )
    data = prepare_tokens([str(books)], None, tokenizer, EOS_TOKEN_ID, tmp_path / "cache")
    n_val_docs = data.summary["val_documents"]
    assert 2 <= n_val_docs <= 16  # about 2% of 400
    assert data.summary["train_documents"] + n_val_docs == 400
    assert int((np.asarray(data.val) == EOS_TOKEN_ID).sum()) == n_val_docs
    val_docs = tokenizer.decode(data.val.tolist(), skip_special_tokens=False).split(
        "<|endoftext|>"
    )[:-1]
    train_docs = tokenizer.decode(data.train.tolist(), skip_special_tokens=False).split(
        "<|endoftext|>"
    )[:-1]
    assert len(train_docs) == data.summary["train_documents"]
    assert not set(val_docs) & set(train_docs)
