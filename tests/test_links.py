"""ui.links (pure) and the URL wired to the Train page: a valid link restores every option; bad values fall back
to their defaults with a notice, never an exception."""

from __future__ import annotations

import re

import pytest

from nn.train import TrainConfig
from tests.app_helpers import _app, _open, page_with, setting_of, train_page_with
from ui import links, settings, state

pytestmark = pytest.mark.usefixtures("offline", "run_app_py_on_every_rerun")  # both in conftest.py


def test_every_option_round_trips_through_the_url():
    config = TrainConfig(iters=1234, batch_size=50, lr=0.5, hidden=80, weight_init_std=0.05, train_size=300, seed=7,
                         gradient="numerical")
    values = {**links.from_config(config), "lang": "ja", "lecture": True}
    query = links.encode(values)
    assert query == {"iters": "1234", "batch": "50", "lr": "0.5", "hidden": "80", "std": "0.05", "images": "300",
                     "seed": "7", "gradient": "numerical", "lang": "ja", "lecture": "1"}
    parsed, notices = links.parse(query)
    assert notices == [] and parsed == values
    assert links.to_config(parsed) == config
    assert links.query_string(values).startswith("?iters=1234&batch=50&lr=0.5")


def test_defaults_round_trip_and_lang_and_lecture_are_left_out_when_default():
    values = {**links.from_config(TrainConfig()), "lang": "en", "lecture": False}
    query = links.encode(values)
    assert "lang" not in query and "lecture" not in query and query["images"] == "all"
    assert links.to_config(links.parse(query)[0]) == TrainConfig()


def test_lenient_spellings_are_accepted():
    parsed, notices = links.parse({"iters": "10,000", "lr": "1e-1", "gradient": "BACKPROP", "lecture": "on",
                                   "seed": ["3", "4"], "unknown": "x"})
    assert notices == []
    assert parsed == {"iters": 10_000, "lr": 0.1, "gradient": "backprop", "lecture": True, "seed": 4}


@pytest.mark.parametrize(
    "name, given, used",
    [("iters", "abc", "10000"), ("iters", "2.5", "10000"), ("iters", "0", "10000"), ("lr", "-1", "0.1"),
     ("lr", "nan", "0.1"), ("lr", "inf", "0.1"), ("batch", "0", "100"), ("hidden", "1e9", "50"),
     ("std", "", "0.01"), ("images", "none", "all"), ("images", "70000", "all"), ("seed", "-3", "0"),
     ("gradient", "magic", "backprop"), ("lang", "fr", "en"), ("lecture", "maybe", "0")],
)
def test_each_bad_value_falls_back_to_its_default_with_a_notice(name, given, used):
    parsed, notices = links.parse({name: given, "batch" if name != "batch" else "seed": "20"})
    assert notices == [links.Notice(name, given, used, links.OPTIONS[name].allowed)]
    assert notices[0].allowed  # every option says what it may be
    assert links.OPTIONS[name].write(parsed[name]) == used
    assert len(parsed) == 2  # the good value next to it is kept


def test_the_widgets_and_the_link_show_the_ranges_of_the_one_table():
    """The Train page's fields and a link's "allowed" both come from nn.options: a field offers exactly the range
    a link accepts, and a value just beyond it falls back in the link."""
    from nn.options import BY_URL

    at = _open(_app(), "pages/train.py")
    widget_keys = {"iters": state.KEY_ITERS, "batch": state.KEY_BATCH, "lr": state.KEY_LR, "hidden": state.KEY_HIDDEN,
                   "std": state.KEY_STD, "seed": state.KEY_SEED}
    for name, key in widget_keys.items():
        option = BY_URL[name]
        widget = at.number_input(key=key)
        assert (widget.min, widget.max) == (option.low, option.high), name
        assert links.OPTIONS[name].allowed == option.span()
        beyond = option.high * 10 if option.high else 1
        assert links.parse({name: str(beyond)})[1], name  # beyond the widget's range: refused in a link too


# -- the app ----------------------------------------------------------------------------------------------------





def test_a_link_restores_every_option_on_the_train_page():
    at = train_page_with({"iters": "1234", "batch": "50", "lr": "0.5", "hidden": "80", "std": "0.05",
                           "images": "300", "seed": "7", "gradient": "numerical"})
    assert at.number_input(key=state.KEY_ITERS).value == 1234
    assert at.number_input(key=state.KEY_BATCH).value == 50
    assert at.number_input(key=state.KEY_LR).value == 0.5
    assert at.number_input(key=state.KEY_HIDDEN).value == 80
    assert at.number_input(key=state.KEY_STD).value == 0.05
    assert at.checkbox(key=state.KEY_USE_ALL).value is False
    assert at.number_input(key=state.KEY_TRAIN_SIZE).value == 300
    assert at.number_input(key=state.KEY_SEED).value == 7
    assert at.radio(key=state.KEY_GRADIENT).value == "numerical"
    assert at.selectbox(key=state.KEY_PRESET).value == "Custom"
    assert not at.warning or all("fell back" not in w.value for w in at.warning)
    # The user's later edit is kept (the link does not fight it) and goes into the URL.
    at.number_input(key=state.KEY_ITERS).set_value(2000).run()
    assert at.number_input(key=state.KEY_ITERS).value == 2000
    assert at.query_params["iters"] == "2000" and at.query_params["lr"] == "0.5"


def test_a_preset_link_and_lang_lecture_are_carried_into_the_session():
    at = train_page_with({"iters": "1000", "lang": "ja", "lecture": "1"})
    assert at.selectbox(key=state.KEY_PRESET).value == "Quick look (1,000 iterations)"
    assert setting_of(at, "lang") == "ja" and setting_of(at, "lecture") is True
    assert at.query_params["lang"] == "ja" and at.query_params["lecture"] == "1"


def test_bad_values_fall_back_with_one_warning_naming_each():
    at = train_page_with({"iters": "abc", "lr": "-1", "batch": "0", "hidden": "1e9", "gradient": "magic",
                           "seed": "5"})
    warning = "\n".join(w.value for w in at.warning)
    for name, used in (("iters", "10000"), ("lr", "0.1"), ("batch", "100"), ("hidden", "50"),
                       ("gradient", "backprop")):
        assert f"**{name}**" in warning and f"**{used}**" in warning
    assert len([w for w in at.warning if "**iters**" in w.value]) == 1
    assert "(allowed: 1 – 1,000,000)" in warning and "(allowed: 0.0001 – 100)" in warning  # lr
    assert "(allowed: backprop | numerical | numerical-plain)" in warning
    assert at.number_input(key=state.KEY_ITERS).value == 10_000
    assert at.number_input(key=state.KEY_SEED).value == 5
    assert at.query_params["iters"] == "10000"  # the URL now says what is used
    at.run()
    assert not any("**iters**" in w.value for w in at.warning)  # said once, not on every rerun


def test_a_bad_value_in_a_link_that_also_switches_the_language_is_warned_about_in_that_language():
    at = train_page_with({"iters": "abc", "lang": "ja"})  # app.py reruns once for the language: warn after it
    warning = "\n".join(w.value for w in at.warning)
    assert "**iters**" in warning and "**10000**" in warning
    from ui import i18n

    assert i18n.messages("ja")["links.bad_values"] in warning
    at.run()
    assert not any("**iters**" in w.value for w in at.warning)


def test_the_url_follows_the_widgets():
    at = _open(_app(), "pages/train.py")
    assert at.query_params["iters"] == "10000" and at.query_params["images"] == "all"
    at.selectbox(key=state.KEY_PRESET).set_value("Overfit on purpose (300 training images)").run()
    assert at.query_params["iters"] == "1500" and at.query_params["images"] == "300"
    _open(at, "pages/home.py")
    assert "iters" not in at.query_params


def test_a_crafted_value_cannot_break_out_of_the_warning():
    _, notices = links.parse({"iters": "1`[click](http://example.com)`\nmore" + "x" * 100})
    assert "`" not in notices[0].given and "\n" not in notices[0].given and len(notices[0].given) == 40


# -- a link to Compare settings carries the sweep ------------------------------------------------------------------


def test_sweep_links_read_and_write_the_values():
    values, notices = links.parse({"x": "batch_size", "x_values": "1000, 10,100,10", "y": "lr", "y_values": "0.1",
                                   "sweep_iters": "500", "axis": "images"})
    assert not notices
    assert values == {"x": "batch_size", "x_values": [10, 100, 1000], "y": "lr", "y_values": [0.1],
                      "sweep_iters": 500, "axis": "images"}
    assert links.encode(values) == {"x": "batch_size", "x_values": "10,100,1000", "y": "lr", "y_values": "0.1",
                                    "sweep_iters": "500", "axis": "images"}
    _, notices = links.parse({"x": "momentum", "x_values": "1,2,x", "sweep_iters": "5", "axis": "epochs"})
    assert {n.name: n.used for n in notices} == {"x": "lr", "x_values": "0.001,0.1,10", "sweep_iters": "2000",
                                                 "axis": "iterations"}


def test_a_sweep_link_sets_the_choices_and_the_url_follows_them():
    at = page_with("pages/sweeps.py", {"x": "hidden", "x_values": "10,50", "y": "lr", "y_values": "0.1", "sweep_iters": "100",
                           "axis": "images"})
    assert setting_of(at, "sweep.x") == "hidden" and setting_of(at, "sweep.x_values") == [10, 50]
    assert setting_of(at, "sweep.y") == "lr" and setting_of(at, "sweep.y_values") == [0.1]
    assert setting_of(at, "sweep.iters") == 100 and setting_of(at, "sweep.axis") == "images"
    assert setting_of(at, "sweep.preset") == "custom"
    size = [i.value for i in at.info if i.value.startswith("2 runs of 100 iterations, trained one after another")]
    assert size and re.search(r"about \d[\d.,]* (ms|s|min)\b.* in all", size[0]), [i.value for i in at.info]
    assert not at.warning
    at.number_input(key=settings.SETTINGS["sweep.iters"].key).set_value(300).run()
    assert at.query_params["sweep_iters"] == "300" and at.query_params["x_values"] == "10,50"
    _open(at, "pages/home.py")
    assert "x" not in at.query_params and "sweep_iters" not in at.query_params


def test_a_sweep_link_of_a_question_picks_that_question_and_bad_values_fall_back():
    at = page_with("pages/sweeps.py", {"x": "batch_size"})  # its values left out: the ones batch size starts with
    assert setting_of(at, "sweep.x_values") == [1, 10, 100, 1000]
    assert setting_of(at, "sweep.preset") == "batch"
    at = page_with("pages/sweeps.py", {"x": "lr", "x_values": "0.001,0.1,abc"})
    warning = "\n".join(w.value for w in at.warning)
    assert "**x_values**" in warning and "**0.001,0.1,10**" in warning
    assert setting_of(at, "sweep.x_values") == [0.001, 0.1, 10.0]
