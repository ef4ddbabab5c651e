"""A corpus of realistic model outputs for GSM8K, MATH and MathQA, each with its gold answer.

`tests/test_answers_peers.py` scores every case with lsrl, math-verify and lm-eval's own code and compares the
verdicts. A case is `Case(id, kind, text, gold, options)`; the id is what the allow-list in that test names.
The outputs are written to look like what models produce: GSM8K worked solutions with calculator tags, MATH solutions
ending in a box, Minerva's "Final Answer" sentence, lsrl's own `#### answer` format, and a share of wrong, truncated
or adversarial answers (a wrong answer that begins with the gold number, an abandoned first box).
"""
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    text: str
    gold: str
    options: Optional[str] = None


CASES: list = []


def add(id, kind, text, gold, options=None):
    assert all(c.id != id for c in CASES), id
    CASES.append(Case(id, kind, text, gold, options))


# ---------------------------------------------------------------------------------------------------- GSM8K
GSM = [  # (id, worked solution, gold)
    ("clips", "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether "
     "in April and May.\n#### 72", "72"),
    ("babysit", "Weng earns 12/60 = $<<12/60=0.2>>0.2 per minute.\nWorking 50 minutes, she earned 0.2 x 50 = "
     "$<<0.2*50=10>>10.\n#### 10", "10"),
    ("wallet", "In the beginning, Betty has only 100 / 2 = $<<100/2=50>>50.\nBetty's grandparents gave her 15 * 2 = "
     "$<<15*2=30>>30.\nThis means, Betty needs 100 - 50 - 30 - 15 = $<<100-50-30-15=5>>5 more.\n#### 5", "5"),
    ("pages", "Maila read 12 x 2 = <<12*2=24>>24 pages today.\nSo she was able to read a total of 12 + 24 = "
     "<<12+24=36>>36 pages since yesterday.\nThere are 120 - 36 = <<120-36=84>>84 pages left to be read.\nSince she "
     "wants to read half of the remaining pages tomorrow, then she should read 84/2 = <<84/2=42>>42 pages.\n#### 42",
     "42"),
    ("letters", "He writes each friend 3*2=<<3*2=6>>6 pages a week\nSo he writes 6*2=<<6*2=12>>12 pages every week\n"
     "That means he writes 12*52=<<12*52=624>>624 pages a year\n#### 624", "624"),
    ("flowers", "There are 80/100 * 10 = <<80/100*10=8>>8 more purple flowers than yellow flowers.\nSo in Mark's "
     "garden, there are 10 + 8 = <<10+8=18>>18 purple flowers.\nPurple and yellow flowers sum up to 10 + 18 = "
     "<<10+18=28>>28 flowers.\nThat means in Mark's garden there are 25/100 * 28 = <<25/100*28=7>>7 green flowers.\n"
     "So in total Mark has 28 + 7 = <<28+7=35>>35 plants in his garden.\n#### 35", "35"),
    ("pizza", "He eats 2 large pizzas with 16 slices each, so 2 * 16 = 32 slices.\nHe eats 2 small pizzas with 8 "
     "slices each, so 2 * 8 = 16 slices.\nIn total he eats 32 + 16 = 48 slices.\n#### 48", "48"),
    ("salary", "Her monthly salary is 3,000 dollars, so in a year she earns 12 * 3,000 = 36,000 dollars.\n#### 36,000",
     "36000"),
    ("ducks", "Janet's ducks lay 16 eggs per day. She eats 3 and bakes with 4, so she sells 16 - 3 - 4 = 9 eggs.\n"
     "She makes 9 * $2 = $18 every day at the farmers' market.\n#### 18", "18"),
    ("robe", "A robe takes 2 bolts of blue fiber and 2 / 2 = 1 bolt of white fiber.\nSo it takes 2 + 1 = 3 bolts in "
     "total.\n#### 3", "3"),
    ("flip", "The cost of the house and repairs came out to 80,000 + 50,000 = $130,000.\nHe increased the value of the "
     "house by 80,000 * 1.5 = $120,000.\nSo the new value of the house is 120,000 + 80,000 = $200,000.\nSo he made a "
     "profit of 200,000 - 130,000 = $70,000.\n#### 70000", "70000"),
    ("sprints", "He sprints 3 * 3 = 9 times a week.\nSo he runs 9 * 60 = 540 meters a week.\n#### 540", "540"),
    ("feed", "Each chicken eats 3 cups a day, so 20 chickens eat 20 * 3 = 60 cups.\nShe gave 15 + 25 = 40 cups "
     "already, so the final meal needs 60 - 40 = 20 cups.\n#### 20", "20"),
    ("glasses", "The discount price of one glass is 60/100 * 5 = $3.\nIf every second glass is cheaper, Kylar is going "
     "to buy 16 / 2 = 8 cheaper glasses.\nSo for the cheaper glasses, Kylar is going to pay 8 * 3 = $24.\nAnd for the "
     "regular-priced glasses, Kylar will pay 8 * 5 = $40.\nSo in total Kylar needs to pay 24 + 40 = $64 for the "
     "glasses he wants to buy.\n#### 64", "64"),
    ("sheep", "Charleston has 4 * 20 = 80 sheep.\nToulouse has 2 * 80 = 160 sheep.\nTogether they have 20 + 80 + 160 "
     "= 260 sheep.\n#### 260", "260"),
]
for id, text, gold in GSM: add(f"gsm-{id}", "gsm8k", text, gold)

GSM_VARIANTS = [  # (id, output, gold): formats, wrong answers, other answer phrasings
    ("cot-answer-is", "Tom starts with 12 apples and buys 30 more, so 12 + 30 = 42. The answer is 42.", "42"),
    ("cot-answer-is-wrong", "Tom starts with 12 apples and buys 30 more, so 12 + 30 = 42. The answer is 45.", "42"),
    ("dollar-comma", "The total cost is 4 * $300 = $1,200.\n#### $1,200", "1200"),
    ("trailing-zeros", "Each of the 5 friends pays 250 / 5 = 50 dollars.\n#### 50.00", "50"),
    ("decimal", "The average speed is 150 / 4 = 37.5 miles per hour.\n#### 37.5", "37.5"),
    ("decimal-wrong", "The average speed is 150 / 4 = 37.5 miles per hour.\n#### 37", "37.5"),
    ("negative", "The temperature falls from 3 to 3 - 8 = -5 degrees.\n#### -5", "-5"),
    ("wrong-final", "She has 5 + 7 = 12 marbles, then gives away 4, so 12 - 4 = 8.\n#### 9", "8"),
    ("no-marker", "She has 5 + 7 = 12 marbles, then gives away 4, so she ends with 12 - 4 = 8", "8"),
    ("no-marker-period", "John runs 3 laps of 400 meters, which is 3 * 400 = 1200 meters in total.", "1200"),
    ("no-marker-wrong", "John runs 3 laps of 400 meters, so he runs 1200 meters. That took him 8 minutes.", "1200"),
    ("two-hashes", "First I thought 3 * 4 = 12.\n#### 12\nBut the question asks for twice that: 24.\n#### 24", "12"),
    ("hash-nospace", "So the answer is 15.\n####15", "15"),
    ("units-after", "The tank holds 8 * 5 = 40 liters.\n#### 40 liters", "40"),
    ("answer-is-dollar", "Adding the tip, the bill is 80 + 16 = 96 dollars. The answer is $96.", "96"),
    ("thousands", "The farm produces 2,500 * 4 = 10,000 eggs per month.\n#### 10,000", "10000"),
    ("big-wrong", "The farm produces 2,500 * 4 = 10,000 eggs per month.\n#### 1,000", "10000"),
    ("fraction-ans", "Each person gets 3 / 4 of a pie, that is 0.75 of a pie.\n#### 0.75", "0.75"),
    ("percent", "The discount is 20 / 80 = 25%.\n#### 25%", "25"),
    ("boxed-gsm", "Lisa saves 15 * 12 = 180 dollars in a year, so the answer is $\\boxed{180}$.", "180"),
    ("bold", "So there are 7 + 6 = 13 birds left on the tree.\n\n**Answer: 13**", "13"),
    ("calc-tags-wrong", "The baker sells 24 * 3 = <<24*3=72>>72 rolls.\nShe keeps 10, so 72 - 10 = <<72-10=62>>62.\n"
     "#### 64", "62"),
    ("answer-colon", "Half of the 36 students are girls, so there are 36 / 2 = 18 girls.\nAnswer: 18", "18"),
    ("rambling", "Let me compute: 6 * 7 = 42. Then add 8: 42 + 8 = 50. Hmm, I should double-check 6 * 7 = 42. Yes.",
     "50"),
    ("empty", "I am not sure how to solve this problem.", "17"),
    ("latex-end", "She buys $4 \\times 6 = 24$ eggs, so she has $\\boxed{24}$.", "24"),
    ("latex-end-wrong", "She buys $4 \\times 6 = 24$ eggs, minus 2 broken: $\\boxed{22}$.", "24"),
]
for id, text, gold in GSM_VARIANTS: add(f"gsm-{id}", "gsm8k", text, gold)

# ---------------------------------------------------------------------------------------------------- MATH: boxes
MATH_BOXED = [  # (id, output, gold as the box of the reference solution)
    ("int", r"We have $(2)(12) = \boxed{24}$.", "24"),
    ("int-wrong", r"We have $(2)(12) = \boxed{26}$.", "24"),
    ("neg", r"Solving $3x + 7 = 1$ gives $x = \boxed{-2}$.", "-2"),
    ("frac", r"The probability is $\frac{6}{36} = \boxed{\frac{1}{6}}$.", r"\frac{1}{6}"),
    ("dfrac", r"The probability is $\boxed{\dfrac{1}{6}}$.", r"\frac{1}{6}"),
    ("frac-short", r"The probability is $\boxed{\frac16}$.", r"\frac{1}{6}"),
    ("frac-unreduced", r"There are 2 good outcomes of 12: the probability is $\boxed{\frac{2}{12}}$.", r"\frac{1}{6}"),
    ("frac-decimal", r"So the ratio is $\boxed{0.75}$.", r"\frac{3}{4}"),
    ("frac-slash", r"Therefore $\frac{a}{b} = \boxed{3/4}$.", r"\frac{3}{4}"),
    ("frac-wrong", r"The probability is $\boxed{\frac{1}{5}}$.", r"\frac{1}{6}"),
    ("neg-frac", r"Thus $\frac{a}{b} = \boxed{-\frac{2}{3}}$.", r"-\frac{2}{3}"),
    ("neg-frac-sign", r"Thus $\frac{a}{b} = \boxed{\frac{-2}{3}}$.", r"-\frac{2}{3}"),
    ("neg-frac-wrong", r"Thus $\frac{a}{b} = \boxed{\frac{2}{3}}$.", r"-\frac{2}{3}"),
    ("sqrt", r"The distance is $\sqrt{9+9} = \boxed{3\sqrt{2}}$.", r"3\sqrt{2}"),
    ("sqrt-alt", r"The distance is $\boxed{\sqrt{18}}$.", r"3\sqrt{2}"),
    ("sqrt-short", r"The side length is $\boxed{\sqrt2}$.", r"\sqrt{2}"),
    ("sqrt-wrong", r"The distance is $\boxed{2\sqrt{3}}$.", r"3\sqrt{2}"),
    ("sqrt-frac", r"So $\sin 45^\circ = \boxed{\frac{\sqrt{2}}{2}}$.", r"\frac{\sqrt{2}}{2}"),
    ("sqrt-rationalised", r"So $\sin 45^\circ = \boxed{\frac{1}{\sqrt{2}}}$.", r"\frac{\sqrt{2}}{2}"),
    ("pi", r"The area of the circle is $\pi r^2 = \boxed{12\pi}$.", r"12\pi"),
    ("pi-order", r"The volume is $\boxed{\pi \cdot 12}$.", r"12\pi"),
    ("pi-wrong", r"The area of the circle is $\boxed{6\pi}$.", r"12\pi"),
    ("pi-frac", r"The angle is $\boxed{\frac{\pi}{3}}$ radians.", r"\frac{\pi}{3}"),
    ("pi-frac-short", r"The angle is $\boxed{\frac\pi3}$.", r"\frac{\pi}{3}"),
    ("complex", r"Multiplying out, $(1+i)(1-3i) = \boxed{4-2i}$.", "4-2i"),
    ("complex-order", r"Multiplying out, $(1+i)(1-3i) = \boxed{-2i+4}$.", "4-2i"),
    ("complex-wrong", r"Multiplying out, $(1+i)(1-3i) = \boxed{4+2i}$.", "4-2i"),
    ("interval", r"Therefore, the domain of the expression is $\boxed{[2,5)}$.", "[2,5)"),
    ("interval-left", r"The solution set is $\boxed{\left[2, 5\right)}$.", "[2,5)"),
    ("interval-wrong", r"The solution set is $\boxed{(2,5]}$.", "[2,5)"),
    ("interval-inf", r"So $x$ lies in $\boxed{(-\infty, 3]}$.", r"(-\infty,3]"),
    ("union", r"The inequality holds for $x \in \boxed{(-\infty,-2) \cup (3,\infty)}$.", r"(-\infty,-2)\cup(3,\infty)"),
    ("tuple", r"The intersection point is $\boxed{(3, -1)}$.", "(3,-1)"),
    ("tuple-wrong", r"The intersection point is $\boxed{(-1, 3)}$.", "(3,-1)"),
    ("list", r"The solutions are $x = \boxed{-3, 2}$.", "-3,2"),
    ("list-order", r"The solutions are $\boxed{2, -3}$.", "-3,2"),
    ("poly", r"Expanding, we get $\boxed{x^2 + 2x + 1}$.", "x^2+2x+1"),
    ("poly-factored", r"Expanding, we get $\boxed{(x+1)^2}$.", "x^2+2x+1"),
    ("poly-wrong", r"Expanding, we get $\boxed{x^2 + 1}$.", "x^2+2x+1"),
    ("equation", r"The line is $\boxed{y = 2x + 3}$.", "2x+3"),
    ("degrees", r"The interior angle measures $\boxed{135^\circ}$.", "135"),
    ("degrees-brace", r"The interior angle measures $\boxed{135^{\circ}}$.", "135"),
    ("degrees-word", r"The angle measures $\boxed{135\text{ degrees}}$.", "135"),
    ("unit-km", r"She drives $\boxed{12\text{ km}}$.", "12"),
    ("unit-square", r"The area is $\boxed{18\text{ square units}}$.", "18"),
    ("unit-cm2", r"The area is $\boxed{25\text{ cm}^2}$.", "25"),
    ("unit-thinspace", r"The side is $\boxed{3\;\text{cm}}$.", "3"),
    ("unit-dollars", r"He pays $\boxed{\$42}$.", "42"),
    ("unit-dollars-text", r"He pays $\boxed{42\text{ dollars}}$.", "42"),
    ("unit-cents", r"Each pencil costs $\boxed{35\text{ cents}}$.", "35"),
    ("unit-inches", r"The diagonal is $\boxed{10\text{ inches}}$.", "10"),
    ("unit-mph", r"Her average speed is $\boxed{45\text{ mph}}$.", "45"),
    ("unit-feet", r"The ladder reaches $\boxed{24 \text{ feet}}$ up the wall.", "24"),
    ("unit-hours", r"It takes $\boxed{6\text{ hours}}$.", "6"),
    ("unit-ways", r"There are $\boxed{120\text{ ways}}$ to seat them.", "120"),
    ("unit-wrong", r"She drives $\boxed{13\text{ km}}$.", "12"),
    ("thousands", r"The number of arrangements is $\boxed{40,320}$.", "40320"),
    ("thousands-brace", r"The sum is $\boxed{1{,}000}$.", "1000"),
    ("thousands-bang", r"The sum is $\boxed{1,\!000}$.", "1000"),
    ("percent", r"The percent increase is $\boxed{25\%}$.", r"25\%"),
    ("decimal", r"Rounded to the nearest tenth, the answer is $\boxed{3.6}$.", "3.6"),
    ("decimal-wrong", r"Rounded to the nearest tenth, the answer is $\boxed{3.5}$.", "3.6"),
    ("base", r"In base 2, this is $\boxed{10110_2}$.", "10110_2"),
    ("text-answer", r"The graph is symmetric about the origin, so $f$ is $\boxed{\text{odd}}$.", r"\text{odd}"),
    ("text-answer-wrong", r"So $f$ is $\boxed{\text{even}}$.", r"\text{odd}"),
    ("choice-letter", r"Only (C) satisfies both conditions, so the answer is $\boxed{\text{(C)}}$.", r"\text{(C)}"),
    ("matrix", r"So the matrix is $\boxed{\begin{pmatrix} 2 & 0 \\ 0 & 3 \end{pmatrix}}$.",
     r"\begin{pmatrix}2&0\\0&3\end{pmatrix}"),
    ("exp", r"The number of subsets is $\boxed{2^{10}}$.", "1024"),
    ("exp-value", r"The number of subsets is $2^{10} = \boxed{1024}$.", "1024"),
    ("log", r"Solving, $x = \boxed{\log_2 5}$.", r"\log_{2}5"),
    ("nested-box", r"Final: $\boxed{\boxed{7}}$", "7"),
    ("box-space", r"so the answer is \boxed 5.", "5"),
    ("fbox", r"Hence the remainder is $\fbox{3}$.", "3"),
    ("box-and-later-box", r"A first attempt gives $\boxed{10}$, but I forgot the overlap; so $\boxed{8}$.", "8"),
    ("box-and-later-box-wrong", r"A first attempt gives $\boxed{8}$, but then I 'correct' it to $\boxed{10}$.", "8"),
    ("ldots", r"The pattern is $\boxed{1, 3, 5, \ldots}$.", r"1, 3, 5, \ldots"),
    ("and", r"The roots are $\boxed{2 \text{ and } 3}$.", "2,3"),
    ("overline", r"So $x = \boxed{0.\overline{3}}$.", r"\frac{1}{3}"),
    ("sci", r"That is $\boxed{3.2 \times 10^{4}}$.", "32000"),
    ("cdot", r"The product is $\boxed{2 \cdot 3^2}$.", "18"),
    ("sqrt-tex-short", r"Simplifying, the length is $\boxed{\sqrt23}$.", r"3\sqrt{2}"),
    ("frac-mixed-braces", r"So the slope is $\boxed{\frac1{2}}$.", r"\frac{1}{2}"),
    ("frac-vs-decimal", r"So the probability is $\boxed{\frac{1}{2}}$.", "0.5"),
    ("percent-bare", r"The percent increase is $\boxed{25}$.", r"25\%"),
    ("complex-i", r"Since $i^{4k+1} = i$, the sum is $\boxed{i}$.", "i"),
    ("complex-i-wrong", r"Since $i^{4k+3} = -i$, the sum is $\boxed{-i}$.", "i"),
    ("complex-swap", r"Then $z = \boxed{3i + 2}$.", "2+3i"),
    ("unit-m", r"The pole is $\boxed{5\text{ m}}$ tall.", "5"),
    ("polar", r"In polar coordinates the point is $\boxed{\left( 1, \frac{\pi}{2} \right)}$.",
     r"\left( 1, \frac{\pi}{2} \right)"),
    ("pi-over-short", r"The angle is $\boxed{\dfrac{\pi}{4}}$.", r"\frac{\pi}{4}"),
    ("text-and-list", r"The values are $\boxed{1 \text{ and } -1}$.", "-1,1"),
    ("infinity", r"The range is $\boxed{[0, \infty)}$.", r"[0,\infty)"),
]
for id, text, gold in MATH_BOXED: add(f"math-{id}", "math", text, gold)

# A wrong answer that begins with the gold number (the exploit), and the right answer that begins like a wrong one
LEADING = [
    ("lead-sqrt", r"The distance is $\boxed{3\sqrt{2}}$.", "3"),
    ("lead-sqrt-rev", r"The distance is $\boxed{3}$.", r"3\sqrt{2}"),
    ("lead-pi", r"The area is $\boxed{12}$.", r"12\pi"),
    ("lead-pi-rev", r"The area is $\boxed{12\pi}$.", "12"),
    ("lead-i", r"The product is $\boxed{-2i}$.", "-2"),
    ("lead-exp", r"There are $\boxed{2^{10}}$ subsets.", "2"),
    ("lead-x", r"The simplified expression is $\boxed{5x}$.", "5"),
    ("lead-and", r"The solutions are $\boxed{2 \text{ and } 3}$.", "2"),
    ("lead-list", r"The solutions are $\boxed{2, 3}$.", "2"),
    ("lead-frac", r"The ratio is $\boxed{1/2}$.", "1"),
    ("lead-power", r"So $n = \boxed{10^6}$.", "10"),
    ("lead-factorial", r"So there are $\boxed{5!}$ orderings.", "5"),
    ("lead-degree-sqrt", r"So the side is $\boxed{4\sqrt{3}}$ units.", "4"),
    ("lead-tuple", r"The vertex is at $\boxed{(1, 4)}$.", "1"),
    ("lead-decimal-ok", r"The answer is $\boxed{2.50}$.", "2.5"),
    ("lead-unit-ok", r"The perimeter is $\boxed{2\text{ units}}$.", "2"),
]
for id, text, gold in LEADING: add(f"math-{id}", "math", text, gold)

# Boxes that never close: the answer is the open box, and it cannot be read
OPEN_BOX = [
    ("open-after-guess", r"My first guess is $\boxed{3}$. Let me check again... the real answer is $\boxed{\frac{3}{",
     "3"),
    ("open-after-guess-2", r"This gives $\boxed{12}$. Hmm, I double counted. Correcting: $\boxed{12 - \left(", "12"),
    ("open-only", r"Therefore the answer is $\boxed{\frac{1}{2}", r"\frac{1}{2}"),
    ("open-truncated", r"Combining everything, $x = \boxed{\sqrt{", r"\sqrt{5}"),
]
for id, text, gold in OPEN_BOX: add(f"math-{id}", "math", text, gold)

# ---------------------------------------------------------------------------------------------------- MATH: Minerva
MINERVA = [  # (id, output in the Minerva few-shot format, gold)
    ("frac", "If we multiply the first equation by $-\\frac{3}{2}$, we obtain $$6y-9x=-\\frac{3}{2}a.$$ Since we also "
     "know that $6y-9x=b$, we have $$-\\frac{3}{2}a=b\\Rightarrow\\frac{a}{b}=\\boxed{-\\frac{2}{3}}.$$\nFinal Answer: "
     "The final answer is $-\\frac{2}{3}$. I hope it is correct.", r"-\frac{2}{3}"),
    ("frac-nobox", "Since $6y-9x=b$, we have $-\\frac{3}{2}a=b$.\nFinal Answer: The final answer is $-\\frac{2}{3}$. "
     "I hope it is correct.", r"-\frac{2}{3}"),
    ("poly-nobox", "Completing the square gives the expression.\nFinal Answer: The final answer is $x^2+1$. I hope it "
     "is correct.", "x^2+1"),
    ("poly-nobox-wrong", "Completing the square gives the expression.\nFinal Answer: The final answer is $x^2+2$. I "
     "hope it is correct.", "x^2+1"),
    ("int", "We have that $\\det (\\mathbf{A} \\mathbf{B}) = (2)(12) = \\boxed{24}.$\nFinal Answer: The final answer "
     "is $24$. I hope it is correct.", "24"),
    ("int-nobox", "We have that $\\det (\\mathbf{A} \\mathbf{B}) = (2)(12) = 24$.\nFinal Answer: The final answer is "
     "$24$. I hope it is correct.", "24"),
    ("int-nobox-wrong", "We have that $\\det (\\mathbf{A}\\mathbf{B}) = 2 + 12$.\nFinal Answer: The final answer is "
     "$14$. I hope it is correct.", "24"),
    ("interval", "The domain is $\\boxed{[2,5)}$.\nFinal Answer: The final answer is $[2,5)$. I hope it is correct.",
     "[2,5)"),
    ("interval-nobox", "The domain is where both roots are defined.\nFinal Answer: The final answer is $[2,5)$. I hope "
     "it is correct.", "[2,5)"),
    ("work", "Equating this to 480 pounds, we can solve for $n$: $30n=480$, so $n=480/30=\\boxed{16}$.\nFinal Answer: "
     "The final answer is $16$. I hope it is correct.", "16"),
    ("work-nobox-wrong", "Equating this to 480 pounds, $30n=480$, so $n=15$.\nFinal Answer: The final answer is $15$. "
     "I hope it is correct.", "16"),
    ("sqrt-nobox", "By the distance formula the distance is $\\sqrt{18}$.\nFinal Answer: The final answer is "
     "$3\\sqrt{2}$. I hope it is correct.", r"3\sqrt{2}"),
    ("sqrt-lead-nobox", "By the distance formula.\nFinal Answer: The final answer is $3\\sqrt{2}$. I hope it is "
     "correct.", "3"),
    ("pi-nobox", "The area is $\\pi r^2$ with $r = 2\\sqrt{3}$.\nFinal Answer: The final answer is $12\\pi$. I hope it "
     "is correct.", r"12\pi"),
    ("units-nobox", "The perimeter of the rectangle is $2(4+5)$.\nFinal Answer: The final answer is $18$ units. I hope "
     "it is correct.", "18"),
    ("units-inside", "The total distance is the sum of both legs.\nFinal Answer: The final answer is $12\\text{ km}$. "
     "I hope it is correct.", "12"),
    ("complex-nobox", "Multiplying the conjugate gives the quotient.\nFinal Answer: The final answer is $1+2i$. I hope "
     "it is correct.", "1+2i"),
    ("tuple-nobox", "Substituting back, $y = -1$.\nFinal Answer: The final answer is $(3,-1)$. I hope it is correct.",
     "(3,-1)"),
    ("no-hope", "Adding the two areas gives the total.\nFinal Answer: The final answer is $\\frac{7}{2}$.",
     r"\frac{7}{2}"),
    ("no-dollars", "The sum of the roots is given by Vieta's formulas.\nFinal Answer: The final answer is 5. I hope it "
     "is correct.", "5"),
    ("disagrees-with-box", "At first $\\boxed{6}$, but the overlap was counted twice.\nFinal Answer: The final answer "
     "is $5$. I hope it is correct.", "5"),
    ("text-nobox", "The function satisfies $f(-x)=-f(x)$.\nFinal Answer: The final answer is $\\text{odd}$. I hope it "
     "is correct.", r"\text{odd}"),
    ("degree-nobox", "The angles of a triangle sum to $180^\\circ$.\nFinal Answer: The final answer is $75^\\circ$. I "
     "hope it is correct.", "75"),
    ("neg-nobox", "Solving the linear equation.\nFinal Answer: The final answer is $-7$. I hope it is correct.", "-7"),
    ("frac-short-nobox", "The probability of two heads.\nFinal Answer: The final answer is $\\frac14$. I hope it is "
     "correct.", r"\frac{1}{4}"),
]
for id, text, gold in MINERVA: add(f"minerva-{id}", "math", text, gold)

# ---------------------------------------------------------------------------------------------------- MATH: ####
HASHES = [  # lsrl's own prompt: "End with the final numeric answer on its own after '####'."
    ("frac", "Multiplying, the probability is $\\frac{2}{3}$.\n#### \\frac{2}{3}", r"\frac{2}{3}"),
    ("frac-wrong", "Multiplying, the probability is $\\frac{2}{3}$.\n#### \\frac{3}{4}", r"\frac{2}{3}"),
    ("frac-dollars", "So the answer is the ratio.\n#### $\\frac{5}{8}$", r"\frac{5}{8}"),
    ("slash", "The fraction simplifies to 5/8.\n#### 5/8", r"\frac{5}{8}"),
    ("int", "We add the two counts: 17 + 25 = 42.\n#### 42", "42"),
    ("int-wrong", "We add the two counts: 17 + 25 = 42.\n#### 41", "42"),
    ("sqrt", "The hypotenuse is $\\sqrt{3^2+3^2}$.\n#### 3\\sqrt{2}", r"3\sqrt{2}"),
    ("sqrt-lead", "The hypotenuse is $\\sqrt{3^2+3^2}$.\n#### 3\\sqrt{2}", "3"),
    ("pi", "The area is $\\pi \\cdot 4^2$.\n#### 16\\pi", r"16\pi"),
    ("neg", "The slope is rise over run.\n#### -3", "-3"),
    ("poly", "Expanding the square.\n#### x^2+2x+1", "x^2+2x+1"),
    ("interval", "Both conditions hold between 2 and 5.\n#### [2,5)", "[2,5)"),
    ("units", "The side of the square is 6 cm.\n#### 6 cm", "6"),
    ("trailing-period", "The count is 120.\n#### 120.", "120"),
    ("revised", "Count the cases.\n#### 10\nWait, one case repeats.\n#### 9", "10"),
    ("revised-right", "Count the cases.\n#### 10\nWait, one case repeats.\n#### 9", "9"),
]
for id, text, gold in HASHES: add(f"hash-{id}", "math", text, gold)

# MATH outputs with no box, no sentence and no ####: the last number is read
BARE = [
    ("last-int", "The remainder when 100 is divided by 7 is 2", "2"),
    ("last-int-wrong", "The remainder when 100 is divided by 7 is 3", "2"),
    ("last-dollar", "Adding these up, we get $5 + 6 + 7 = 18$.", "18"),
    ("no-number", "This cannot be determined from the information given.", "4"),
]
for id, text, gold in BARE: add(f"bare-{id}", "math", text, gold)

# ---------------------------------------------------------------------------------------------------- MathQA
OPTS = {
    "speed": "a ) 38 , b ) 27.6 , c ) 1,200 , d ) 4 / 5 , e ) none of these",
    "profit": "a ) 10 % , b ) 12 % , c ) 15 % , d ) 20 % , e ) 25 %",
    "train": "a ) 120 m , b ) 150 m , c ) 180 m , d ) 200 m , e ) 240 m",
    "ratio": "a ) 2 : 3 , b ) 3 : 4 , c ) 4 : 5 , d ) 5 : 6 , e ) 6 : 7",
    "work": "a ) 6 days , b ) 8 days , c ) 10 days , d ) 12 days , e ) 15 days",
}
MATHQA = [  # (id, options key, output, gold letter)
    ("paren", "speed", "Speed = distance / time = 27.6 km/h. So the answer is (b).", "b"),
    ("paren-wrong", "speed", "Speed = distance / time = 38 km/h. So the answer is (a).", "b"),
    ("colon", "profit", "Profit = 30 on a cost of 200, which is 15 %.\nAnswer: c", "c"),
    ("colon-upper", "profit", "Profit = 30 on a cost of 200, which is 15 %.\nAnswer: C", "c"),
    ("option", "train", "Length = speed * time = 15 m/s * 12 s = 180 m. The correct option is c.", "c"),
    ("option-wrong", "train", "Length = speed * time = 15 m/s * 10 s = 150 m. The correct option is b.", "c"),
    ("choice", "ratio", "The ratio of their ages is 3 : 4, choice b.", "b"),
    ("answer-is-letter", "work", "Together they finish 1/12 + 1/24 = 1/8 per day, so 8 days. The answer is b", "b"),
    ("answer-is-letter-wrong", "work", "Together they finish 1/10 per day, so 10 days. The answer is c", "b"),
    ("number-only", "speed", "The speed works out to 1200 meters per minute, so 1200.", "c"),
    ("number-only-frac", "speed", "The fraction of the tank that is full is 0.8.", "d"),
    ("number-only-wrong", "speed", "The speed works out to 12 meters per second.", "c"),
    ("hash-letter", "profit", "The gain is 20 %.\n#### d", "d"),
    ("final-answer-letter", "train", "The train covers its own length in 8 s at 25 m/s.\nFinal answer: (d)", "d"),
    ("bold-letter", "work", "A does 1/15 per day and B 1/10, so together 1/6: 6 days.\n**Answer: (a)**", "a"),
    ("boxed-letter", "ratio", "Their shares are in the ratio 5 : 6. The answer is $\\boxed{d}$.", "d"),
    ("explain-then-letter", "profit", "Option a is too small and e too large. Computing, the gain is 12 %, so the "
     "answer is b.", "b"),
    ("no-answer", "train", "I cannot decide between the options.", "a"),
    ("two-letters", "ratio", "At first I thought the answer is a, but rechecking, the answer is c.", "c"),
    ("two-letters-wrong", "ratio", "The answer is c. Actually, no: the answer is a.", "c"),
    ("letter-e", "speed", "None of the listed values match 30, so the answer is e.", "e"),
    ("paren-upper", "work", "The work takes 12 days. Answer: (D)", "d"),
    ("number-percent", "profit", "So the profit percentage is 25 %.", "e"),
    ("lead-number", "train", "Length = 200 m so the answer is option d", "d"),
    ("sentence", "speed", "Therefore, the answer is option (c) 1,200.", "c"),
]
for id, key, text, gold in MATHQA: add(f"mathqa-{id}", "mathqa", text, gold, OPTS[key])
