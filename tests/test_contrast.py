import pytest

from faq_search.contrast import asked_clause


@pytest.mark.parametrize(
    "query, asked",
    [
        ("不是忘了密码 是密码被锁了", "密码被锁了"),
        ("不是App打不开，而是打开后很卡", "打开后很卡"),
        ("不想注销 只想解绑银行卡", "解绑银行卡"),
        ("不是转账 是想借钱 能借给我吗", "借钱 能借给我吗"),
        ("並不是忘記密碼 而是密碼被鎖了", "密碼被鎖了"),  # traditional, as typed: the analysis normalises later
        ("那个 不是退款 是撤销转账", "那个 撤销转账"),  # what comes before the denial stays
        ("不是A卡 是 不是B卡 是C卡丢了", "C卡丢了"),  # the clause kept is read again
    ],
)
def test_a_denied_topic_is_left_out(query, asked):
    assert asked_clause(query) == asked
    assert asked_clause(asked) == asked


@pytest.mark.parametrize(
    "query",
    [
        "那笔消费不是我本人操作的",  # a fact about the problem, no contrast
        "人脸识别总说不是本人 可就是我自己啊",  # the denial does not open a clause
        "不是实名用户是不是不能转账",  # 是不是 asks; it does not contrast
        "不想要小额免密了",
        "不是我登录的 但收到了登录提醒",  # 但 after 不是 states a fact: not a contrast we read
        "不是，是密码锁了",  # nothing denied
        "不是转账 是",  # nothing asked
        "不是我一直在等客服回复结果到现在还没有人理我 是不是没人管",  # too long a stretch to be a denied topic
        "忘了密码",
    ],
)
def test_other_questions_keep_every_word(query):
    assert asked_clause(query) == query
