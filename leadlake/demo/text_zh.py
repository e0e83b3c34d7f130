"""Chinese free text for the demo CRM: the same hidden kinds and need categories as ``leadlake.demo.text``.

Leads chosen by ``--zh-share`` write every message in Chinese, and their
customers every feedback item, so that a model has to read Chinese to learn
what the English texts teach it. Phrasings were written per kind, not
translated line by line; slots take Chinese values (下季度, 3万元, 企业版) and
a share of messages mix in the English product names Chinese customers use.
"""

from __future__ import annotations

import random

from leadlake.demo.text import fill

QUARTERS = ["下季度", "本季度", "第三季度", "第四季度", "新财年", "年底前"]
WHEN = ["下周二", "周四下午", "下周初", "月底", "3月3日", "周五之前", "明天上午", "下周找个时间"]
AMOUNTS = ["3万元", "5万元", "大约20万", "12万元", "8500元", "30万左右", "50万"]
FEATURES = ["单点登录", "SSO", "API接口", "审计日志", "自定义报表", "权限管理", "批量导出", "钉钉集成",
            "企业微信集成", "移动端应用", "Salesforce集成", "双因素认证", "数据看板", "定时报表"]
COMPETITORS = ["纷享销客", "销售易", "Salesforce", "HubSpot", "我们现在用的系统", "另一家供应商"]
PLANS = ["基础版", "专业版", "企业版", "旗舰版"]
NAMES = ["王伟", "李娜", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周杰", "吴芳"]

MESSAGE_KINDS: dict[str, list[str]] = {
    "buying": [
        "{quarter}的预算已经批下来了，麻烦发一份{seats}个账号的报价。",
        "领导已经同意采购了，请把合同和订单发给我们，一共{seats}个用户。",
        "我们决定上{plan}，{seats}个席位，{quarter}开始用。",
        "采购部门需要在{when}之前拿到正式报价，好走付款流程。",
        "试用效果很好，准备全团队{seats}人上线，签约的下一步是什么？",
        "请给我{seats}个账号按年付费的价格，{quarter}就可以买。",
        "可以采购了，开发票和签框架协议找谁？",
        "我们最后选了你们而不是{competitor}，把合同发过来，{when}签。",
        "这个项目{quarter}有{amount}的预算，能出一份{seats}个席位的方案吗？",
        "法务已经审完数据协议了，没问题，请开{plan}的发票。",
        "{quarter}之前必须上线，请确认{seats}个席位和实施的价格。",
        "我们这边已经定了，请发订单。",
    ],
    "evaluating": [
        "我们在对比几家供应商，包括{competitor}，{when}能安排个演示吗？",
        "能不能先开{seats}个用户的免费试用，和{competitor}对比一下？",
        "我们安全团队需要先看你们的安全认证报告才能继续评估。",
        "想请你们给团队讲一下{feature}，{when}方便吗？",
        "我们在为{quarter}选型，你们和{competitor}有什么不同？",
        "能分享一个和我们规模差不多（{seats}人）的客户案例吗？",
        "下个月要做概念验证，能派人帮我们配置{feature}吗？",
        "请发一个演示链接，我们在给销售团队选工具。",
        "{seats}人的团队一般实施要多久？",
    ],
    "researching": [
        "只是先了解一下明年的选择，能发点基本资料吗？",
        "下载了你们的白皮书，挺有意思，还有关于线索评分的资料吗？",
        "现在不打算买，只是做个市场调研。",
        "能发一份产品介绍吗？我在给领导写一个报告。",
        "想了解一下你们的产品是怎么用的，有视频或者文章吗？",
        "今年晚些时候可能会考虑，一般是怎么部署的？",
        "看了你们的直播，几个版本有什么区别？",
    ],
    "pricing_objection": [
        "说实话价格太高了，{competitor}的报价差不多是你们的一半。",
        "非营利组织或者初创公司有折扣吗？{plan}超出我们的预算了。",
        "产品我们很喜欢，但是一年{amount}现在实在批不下来。",
        "如果签两年，价格能再优惠一点吗？",
        "你们的价格页面看不懂，为什么{feature}要另外收费？",
        "这个季度预算被砍了，{seats}个用户有没有便宜一点的套餐？",
        "如果能和{competitor}一个价，我们今天就买。",
    ],
    "feature_question": [
        "你们的产品支持{feature}吗？",
        "问一下：不找开发能直接接{feature}吗？",
        "{feature}是包含在{plan}里的，还是要单独买？",
        "{feature}和{competitor}能一起用吗？我们过渡期两个都要用。",
        "{feature}有没有数量上限？",
    ],
    "support": [
        "我们的账号登不上去了，一直提示密码错误，请帮忙看一下。",
        "导出报表的时候报错，麻烦尽快处理。",
        "{feature}配置好以后没有数据同步过来，怎么回事？",
        "怎么给新同事开账号？找不到设置的地方。",
        "发票抬头写错了，能重新开一张吗？",
        "系统今天特别慢，打开一个页面要一分钟。",
    ],
    "complaint": [
        "客服三天都没回复我，太失望了。",
        "上线以后问题不断，{feature}根本用不了，我们在考虑换{competitor}。",
        "同一个问题我已经跟四个客服解释过了，还是没解决。",
        "这个月被重复扣费了，到现在还没退款。",
        "承诺的功能一直没做，感觉被骗了。",
    ],
    "job_seeker": [
        "您好，我想应聘你们的{role}岗位，附件是我的简历。",
        "请问你们还招人吗？我对{role}的职位很感兴趣。",
        "我是应届毕业生，想投递实习岗位，简历已经发到邮箱了。",
        "看到你们在招{role}，想了解一下面试流程。",
    ],
    "not_interested": [
        "谢谢，我们暂时不需要，请不要再联系我了。",
        "我们已经用{competitor}了，没有换的打算。",
        "请把我从邮件列表里删掉。",
        "现在不是时候，明年再说吧。",
        "没有预算，也没有这个需求。",
    ],
    "spam": [
        "恭喜您中奖了！点击链接领取iPhone大奖！！！",
        "专业代开发票，价格优惠，欢迎咨询。",
        "网站推广，三天上百度首页，包您满意！",
        "低价出售客户数据，精准营销，量大从优。",
        "刷单兼职，日赚五百，在家就能做。",
    ],
    "out_of_office": [
        "您好，我{when}前在休假，邮件会延迟回复，急事请联系同事。",
        "自动回复：我正在出差，回来后会尽快回复您。",
        "您好，本人已离职，相关工作请联系{name}。",
    ],
}

ROLES = ["销售代表", "客户经理", "数据分析师", "市场实习生", "软件工程师", "客户成功经理"]
OPENERS = ["", "", "您好，", "你好，", "各位好，", "{name}您好，"]
CLOSERS = ["", "", "谢谢！", "谢谢，{name}", "期待回复。", "祝好"]
FILLERS = [
    "我们是一家{size}人的公司。",
    "我们团队今年扩张得很快。",
    "是同事推荐我来找你们的。",
    "我们现在所有数据都记在表格里。",
    "还需要什么资料请告诉我。",
]

FEEDBACK: dict[tuple[str, str], list[str]] = {
    ("product_feature", "pos"): [
        "新上的{feature}太好用了，每周帮团队省好几个小时。",
        "{feature}和宣传的一样好用，很棒的功能。",
        "报表功能很强大，也很灵活。",
        "终于有了和{competitor}的集成，而且很稳定。",
    ],
    ("product_feature", "neg"): [
        "说好几个月前就上线的{feature}到现在还没有。",
        "{feature}有bug，隔几天就丢数据。",
        "连批量编辑这种基本功能都没有，限制太多了。",
        "导出大文件一直失败，请尽快修复。",
        "我们非常需要{feature}，没有的话可能会换成{competitor}。",
    ],
    ("service_quality", "pos"): [
        "客服几分钟就回复了，问题也解决了，服务很好。",
        "我们的客户经理{name}特别好，总是很热心。",
        "上线培训的老师很耐心，也很专业，谢谢！",
    ],
    ("service_quality", "neg"): [
        "工单一直没人回复，从没遇到这么差的供应商。",
        "客服一周才回复，然后没解决就把工单关了。",
        "系统宕机以后没有任何人回电话，服务太差了。",
        "同一个问题我要跟四个不同的客服解释。",
    ],
    ("user_experience", "pos"): [
        "界面很简洁，新员工也很容易上手。",
        "新的看板很直观，速度也快。",
        "十分钟就配置好了，体验非常顺畅。",
    ],
    ("user_experience", "neg"): [
        "界面很乱而且很慢，简单的事情要点好多次。",
        "手机应用老是闪退，太让人崩溃了。",
        "上次更新以后页面加载特别慢。",
        "菜单里什么都找不到，操作体验需要改进。",
    ],
    ("pricing", "pos"): [
        "和{competitor}比起来性价比很高。",
        "价格合理，没有乱收费，很满意。",
    ],
    ("pricing", "neg"): [
        "太贵了，续费价格还涨了30%。",
        "{feature}还要额外收费，太坑了。",
        "这个月被扣了两次费，到现在还在等退款。",
        "涨价没有道理，我们在考虑不续了。",
    ],
    ("other", "pos"): [
        "总体对产品很满意，继续加油！",
        "和你们合作很愉快。",
    ],
    ("other", "neg"): [
        "和我们预想的不一样，总体有点失望。",
        "一般吧，能用，但没什么特别的。",
    ],
    ("other", "neu"): [
        "我们主要用它来做报表。",
        "还在推广中，暂时没有什么看法。",
        "还行。",
    ],
}


def _ctx(rng: random.Random, ctx: dict[str, str]) -> dict[str, str]:
    """The slots a Chinese message fills, in Chinese; the lead's own names and numbers stay as they are."""
    out = {"quarter": rng.choice(QUARTERS), "when": rng.choice(WHEN), "amount": rng.choice(AMOUNTS),
           "feature": rng.choice(FEATURES), "competitor": rng.choice(COMPETITORS), "plan": rng.choice(PLANS),
           "role": rng.choice(ROLES), "name": rng.choice(NAMES)}
    return {**out, **{k: v for k, v in ctx.items() if k not in out}}


def message(kind: str, channel: str, rng: random.Random, ctx: dict[str, str]) -> str:
    """One Chinese message of ``kind`` as written on ``channel``."""
    slots = _ctx(rng, ctx)
    bank = MESSAGE_KINDS.get(kind) or MESSAGE_KINDS["researching"]
    body = fill(rng.choice(bank), rng, slots)
    if channel == "call_note":
        return "电话记录：客户说" + body
    if kind not in ("spam", "out_of_office", "not_interested") and channel in ("email", "inbound_form") \
            and rng.random() < 0.4:
        body = fill(rng.choice(FILLERS), rng, slots) + body
    if channel == "chat":
        return body.split("，")[0]
    if channel == "inbound_form":
        return "留言：" + body
    if channel == "social":
        return body[:120]
    return "".join(fill(p, rng, slots) for p in (rng.choice(OPENERS), body, rng.choice(CLOSERS)))


def feedback_text(category: str, polarity: str, rng: random.Random, ctx: dict[str, str]) -> str:
    """One Chinese feedback item; a (category, polarity) with no phrasings speaks generically, as in English."""
    slots = _ctx(rng, ctx)
    bank = FEEDBACK.get((category, polarity)) or FEEDBACK[("other", "neu")]
    parts = [fill(rng.choice(bank), rng, slots)]
    if rng.random() < 0.3:
        parts.append(fill(rng.choice(bank), rng, slots))
    return "".join(dict.fromkeys(parts))
