"""A fixed set of everyday questions no technical knowledge base answers, in several languages.

Calibration uses them as the off-topic kind of unanswerable question. They cover everyday subjects (weather,
food, travel, sport, health, pets, gardens, history, shopping, entertainment), mostly in Chinese and English
(the languages the answer stage speaks) with a few in other languages people may type. A knowledge base
*about* one of these subjects would answer some of them; calibration drops any whose terms its best passage
mostly contains (`rag_ingest.calibration`).
"""
from __future__ import annotations

OFF_TOPIC_QUESTIONS: tuple[str, ...] = (
    "今天北京天气怎么样？",
    "红烧肉怎么做才好吃？",
    "去日本旅游需要办什么签证？",
    "梅西一共拿过几次金球奖？",
    "感冒了应该吃什么药？",
    "猫为什么喜欢晚上跑来跑去？",
    "多肉植物多久浇一次水？",
    "秦始皇是哪一年统一六国的？",
    "双十一买手机哪个牌子最划算？",
    "最近有什么好看的电视剧推荐？",
    "怎样才能让宝宝晚上睡整觉？",
    "马拉松比赛前一周应该怎么训练？",
    "上海到杭州的高铁要坐多久？",
    "咖啡和茶哪个更提神？",
    "如何挑选一个新鲜的西瓜？",
    "房贷提前还款划算吗？",
    "What's the weather like in London this weekend?",
    "How long should I boil an egg for a soft yolk?",
    "Who won the football World Cup in 2014?",
    "What is a good stretching routine for lower back pain?",
    "How often should I feed a goldfish?",
    "When did the Roman Empire fall?",
    "Which credit card has the best travel rewards?",
    "What are some good movies to watch with kids?",
    "How do I get red wine stains out of a carpet?",
    "What should I pack for a week of hiking in the Alps?",
    "How many calories are in a banana?",
    "Is it better to rent or buy a house?",
    "How do I repot an orchid?",
    "What time does the Louvre open on Sundays?",
    "How can I improve my chess openings?",
    "What is the capital of Australia?",
    "Quel temps fera-t-il à Paris demain ?",
    "Comment faire une pâte à crêpes ?",
    "Wie lange dauert ein Flug von Berlin nach New York?",
    "Welche Zimmerpflanzen brauchen wenig Licht?",
    "¿Cuál es la mejor época para visitar Machu Picchu?",
    "¿Cómo se prepara una paella valenciana?",
    "東京でおすすめのラーメン屋はどこですか？",
    "猫にチョコレートをあげても大丈夫ですか？",
)
