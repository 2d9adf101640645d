"""The demo audience in Japanese (`leadstate demo --language ja`): people, companies, titles, content and
page titles as a Japanese B2B site's visitors would have them.

Each table maps the English demo's word to its Japanese counterpart, so the same seed draws the same
audience (same intents, events and times) in either language: only the words differ. Titles keep their
level (課長 is a manager, 本部長 an executive, as the default policy reads them).
"""

from __future__ import annotations

# English given name → (Japanese given name, romaji for the email address)
FIRST = {
    "haruto": ("陽翔", "haruto"),
    "yui": ("結衣", "yui"),
    "sota": ("蒼太", "sota"),
    "aoi": ("葵", "aoi"),
    "ren": ("蓮", "ren"),
    "mio": ("美桜", "mio"),
    "kenji": ("健二", "kenji"),
    "emma": ("恵美", "emi"),
    "liam": ("涼", "ryo"),
    "olivia": ("彩花", "ayaka"),
    "noah": ("直樹", "naoki"),
    "sara": ("沙羅", "sara"),
}
LAST = {
    "sato": ("佐藤", "sato"),
    "suzuki": ("鈴木", "suzuki"),
    "takahashi": ("高橋", "takahashi"),
    "tanaka": ("田中", "tanaka"),
    "ito": ("伊藤", "ito"),
    "smith": ("渡辺", "watanabe"),
    "jones": ("山本", "yamamoto"),
    "garcia": ("中村", "nakamura"),
    "muller": ("小林", "kobayashi"),
    "kim": ("加藤", "kato"),
}
COMPANY = {
    "Kanto": "関東",
    "Nippon": "日本",
    "Blue": "青葉",
    "North": "北陸",
    "Apex": "頂",
    "Sakura": "さくら",
    "Vertex": "東邦",
    "Harbor": "港南",
    "Summit": "富士",
    "Orion": "オリオン",
}
SUFFIX = {
    "Precision": "精密",
    "Logistics": "ロジスティクス",
    "Systems": "システムズ",
    "Works": "製作所",
    "Partners": "パートナーズ",
    "Foods": "食品",
    "Labs": "ラボ",
    "Trading": "商事",
}
TITLES = {
    "Marketing Specialist": "マーケティング部 担当",
    "Sales Representative": "営業部 担当",
    "Engineer": "情報システム部 スタッフ",
    "営業部 主任": "営業部 主任",
    "マーケティング担当": "マーケティング担当",
    "Business Analyst": "経営企画部 係長",
    "Sales Manager": "営業課長",
    "Marketing Manager": "マーケティング課長",
    "営業課長": "第一営業課 課長",
    "マーケティング マネージャー": "マーケティング マネージャー",
    "Team Lead, Inside Sales": "インサイドセールス リーダー",
    "Marketing Director": "マーケティング部長",
    "Head of Sales": "営業部長",
    "営業部長": "東日本営業部 部長",
    "General Manager, Digital": "デジタル推進室 室長",
    "CEO": "代表取締役",
    "VP Marketing": "執行役員 マーケティング担当",
    "Chief Revenue Officer": "取締役 営業本部長",
    "取締役 営業本部長": "常務取締役",
    "代表取締役社長": "代表取締役社長",
    "Student": "大学生",
    "学生": "大学院生",
    "Job seeker": "転職活動中",
    "求職中": "求職中",
    "Freelance consultant": "フリーランス",
}
ASSETS = {
    "wp-lead-scoring": "営業が信頼するリードスコアリング",
    "wp-mql-sql-guide": "MQLとSQLの設計ガイド",
    "ebook-lead-nurturing": "リードナーチャリング実践ハンドブック",
    "ebook-ma-selection": "失敗しないMAツールの選び方",
    "checklist-ma-migration": "MA移行チェックリスト",
    "casestudy-ma-manufacturing": "導入事例：中堅製造業のMA活用",
    "playbook-inside-sales": "インサイドセールス立ち上げの教科書",
    "template-sales-handoff": "マーケから営業への引き渡しテンプレート",
    "guide-crm-integration": "CRMとMAの連携ガイド",
    "wp-cdp-basics": "よくわかるCDP入門",
}
SEMINARS = {
    "sem-mql-design": "営業と決めるMQL設計セミナー",
    "sem-ma-in-practice": "MA活用の実践セミナー",
    "sem-sales-handoff": "営業に受け取ってもらえるリード引き渡し",
    "sem-data-pipeline": "行動データをCRMにつなぐ",
}
PAGES = {
    "/": "トップページ",
    "/product/overview": "製品概要",
    "/product/features": "機能一覧",
    "/customers": "導入事例",
    "/about": "会社概要",
    "/blog": "ブログ",
    "/pricing": "料金プラン",
    "/blog/mql-definition": "MQLとは？定義と決め方",
    "/blog/mql-vs-sql": "MQLとSQLの違い",
    "/blog/lead-scoring-basics": "リードスコアリングの基本",
    "/blog/ma-first-90-days": "MA導入後の最初の90日",
    "/blog/marketing-automation-roi": "MAの費用対効果の測り方",
    "/blog/sales-handoff": "マーケから営業への引き渡し",
    "/blog/sales-first-call": "初回コールで聞くべきこと",
    "/blog/integration-crm-sync": "CRM同期の設計",
    "/product/integrations": "連携できるサービス",
}


def person(first: str, last: str) -> tuple[str, str, str, str]:
    """(given name, family name, the full name as written in Japanese, romaji for the email)."""
    given, given_romaji = FIRST[first]
    family, family_romaji = LAST[last]
    return given, family, f"{family} {given}", f"{given_romaji}.{family_romaji}"


def company(prefix: str, suffix: str) -> str:
    return f"{COMPANY[prefix]}{SUFFIX[suffix]}株式会社"
