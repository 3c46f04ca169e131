import pytest

from faq_search.redact import redact


@pytest.mark.parametrize(
    "text, expected",
    [
        ("我的手机号13812345678收不到验证码", "我的手机号[phone]收不到验证码"),
        ("手机 138 1234 5678 换号了", "手机 [phone] 换号了"),
        ("电话138-1234-5678", "电话[phone]"),
        ("+86-13812345678 登录不了", "[phone] 登录不了"),
        ("+86 138 1234 5678", "[phone]"),
        ("(+86)13912345678", "[phone]"),
        ("008613812345678", "[phone]"),
        ("打我座机010-62345678或者(0755)23456789", "打我座机[phone]或者[phone]"),
        ("１３８１２３４５６７８是我的号", "[phone]是我的号"),  # full-width digits from a Chinese IME
        ("身份证110101199003071234怎么实名", "身份证[id_card]怎么实名"),
        ("身份证号11010119900307123X", "身份证号[id_card]"),
        ("证件号 11010119900307123x 认证失败", "证件号 [id_card] 认证失败"),
        ("老身份证110101900307123", "老身份证[id_card]"),
        ("卡号6222021234567890123扣款了", "卡号[bank_card]扣款了"),
        ("卡号 6222 0212 3456 7890 扣款了", "卡号 [bank_card] 扣款了"),
        ("信用卡6225-8812-3456-7890", "信用卡[bank_card]"),
        ("邮箱zhang.san+wallet@qq.com收不到账单", "邮箱[email]收不到账单"),
        ("发到 13812345678@163.com 了", "发到 [email] 了"),
        ("ｌｉｓｉ＠１２６．ｃｏｍ", "[email]"),
        ("wang_wu@sina.com。谢谢", "[email]。谢谢"),
        # Separators users type that are not one space or hyphen, and digits that are not ASCII
        ("手机138  1234  5678改绑", "手机[phone]改绑"),
        ("138.1234.5678", "[phone]"),
        ("138_1234_5678", "[phone]"),
        ("138—1234—5678", "[phone]"),
        ("卡号6222  0212  3456  7890", "卡号[bank_card]"),
        ("卡号6222.0212.3456.7890", "卡号[bank_card]"),
        ("座机0755-8888 8888", "座机[phone]"),
        ("010 6234 5678", "[phone]"),
        ("𝟏𝟑𝟖𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖", "[phone]"),
        ("138\u200b1234\u200b5678", "[phone]"),
    ],
)
def test_personal_data_is_replaced(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "忘记登录密码怎么办",
        "提现500元多久到账",
        "客服热线400-660-8888",
        "2024年3月15日的订单",
        "验证码123456",
        "转账转错人了 金额1380元",
        "",
    ],
)
def test_ordinary_questions_are_unchanged(text):
    assert redact(text) == text


@pytest.mark.timing
def test_long_runs_of_separators_are_matched_in_linear_time():
    import time

    for text in ["86" + " " * 5000 + "x", "1" + " ." * 5000, ("6222 " * 2000) + "x"]:
        t0 = time.perf_counter()
        redact(text)
        assert time.perf_counter() - t0 < 0.5, text[:20]


def test_several_kinds_in_one_query():
    text = "我叫张三，手机13812345678，卡号6222021234567890，邮箱zs@qq.com，身份证110101199003071234"
    assert redact(text) == "我叫张三，手机[phone]，卡号[bank_card]，邮箱[email]，身份证[id_card]"


def test_numbers_glued_to_longer_digit_runs_are_not_split():
    # 24 digits is neither a card nor a phone: do not redact a 16-digit slice of it.
    assert redact("流水号 6222 0212 3456 7890 1234 5678") == "流水号 6222 0212 3456 7890 1234 5678"
