"""Generate ``empora_auth/passwords/common-passwords.txt`` offline (no network).

The list is the best-known most-common passwords (as published from breach corpora such as
RockYou and in SecLists' top lists) combined with the patterns people use to stretch them to
eight characters: digit and year suffixes, leetspeak, keyboard walks, repeats and dates.
Only entries of 8..128 characters are kept, since shorter ones fail the length rule anyway.
Entries are lower-case; the policy compares case-insensitively.

Run: ``uv run python services/auth/scripts/generate_common_passwords.py``
"""

from __future__ import annotations

from itertools import product
from pathlib import Path

OUT = (
    Path(__file__).resolve().parents[1]
    / "src"
    / "empora_auth"
    / "passwords"
    / "common-passwords.txt"
)


def _words(text: str) -> list[str]:
    return text.split()


# The most common passwords and password words, roughly in order of frequency.
TOP = _words(
    """
123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123 baseball
abc123 football monkey letmein 696969 shadow master 666666 qwertyuiop 123321 mustang
1234567890 michael 654321 superman 1qaz2wsx 7777777 121212 000000 qazwsx 123qwe killer
trustno1 jordan jennifer zxcvbnm asdfgh hunter buster soccer harley batman andrew tigger
sunshine iloveyou charlie robert thomas hockey ranger daniel starwars klaster 112233 george
computer michelle jessica pepper zxcvbn 555555 11111111 131313 freedom 777777 pass maggie
159753 aaaaaa ginger princess joshua cheese amanda summer love ashley nicole chelsea biteme
matthew access yankees 987654321 dallas austin thunder taylor matrix william corvette hello
martin heather secret merlin diamond 1234qwer gfhjkm hammer silver 222222 88888888 anthony
justin test bailey q1w2e3r4t5 patrick internet scooter orange 11111 golfer cookie richard
samantha bigdog guitar jackson whatever mickey chicken sparky snoopy maverick phoenix camaro
peanut morgan welcome falcon cowboy ferrari samsung andrea smokey steelers joseph mercedes
dakota arsenal eagles melissa boomer booboo spider nascar monster tigers yellow xxxxxx
123123123 gateway marina diablo bulldog qwer1234 compaq purple hardcore banana junior hannah
123654 porsche lakers iceman money cowboys 987654 london tennis 999999 ncc1701 coffee scooby
0000 miller boston q1w2e3r4 brandon yamaha chester mother forever johnny edward 333333
oliver redsox player nikita knight fender barney midnight please brandy chicago badboy
slayer rangers charles angel flower bigdaddy rabbit wizard jasper enter rachel chris steven
winner adidas victoria natasha 1q2w3e4r jasmine winter prince panties marine ghbdtn fishing
cocacola casper james 232323 raiders 888888 marlboro gandalf asdfasdf crystal 87654321
12344321 golden 8675309 apple mustang1 jessica1 viking dolphin baseball1 donald shannon
blink182 pokemon naruto nirvana metallica liverpool chelsea1 arsenal1 manchester barcelona
juventus realmadrid superstar rockstar babygirl lovely butterfly loveme iloveu 5201314
princess1 sweety angel1 friends jesus christ trinity blessed heaven faith hope peace
freedom1 liberty america canada australia germany france mexico brazil russia india china
qwerty1 qwerty12 qwerty123 password1 password12 password123 welcome1 welcome123 admin
administrator root toor changeme default guest user login letmein1 master1 access14 passw0rd
p@ssw0rd p@ssword pa55word pa55w0rd secret1 zaq12wsx 1qazxsw2 qazwsxedc zaq1xsw2 1q2w3e
1q2w3e4r5t 1q2w3e4r5t6y q1w2e3r4 qweasd qweasdzxc asdfghjkl asdf1234 zxcvbnm1 abcd1234
abc12345 a1b2c3d4 aa123456 a123456 a12345678 123abc 1234abcd iloveyou1 iloveyou2 lovelove
loveyou fuckyou fuckyou1 fuckoff shit asshole bitch sexy sex hottie hotmail gmail yahoo
google facebook twitter instagram youtube linkedin microsoft apple123 windows linux ubuntu
debian oracle mysql postgres database server network security system computer1 internet1
office work business company company123 spring autumn fall summer1 winter1 january february
march april may june july august september october november december monday tuesday
wednesday thursday friday saturday sunday weekend holiday vacation christmas easter birthday
happy smile lucky luckyone dragon1 dragons dragonball shadow1 monkey1 monkey12 killer1
hunter1 hunter2 tigger1 soccer1 hockey1 football1 batman1 superman1 spiderman ironman
captain avengers marvel starwars1 startrek pokemon1 minecraft fortnite roblox zelda mario
nintendo playstation xbox360 gamer gaming player1 warcraft diablo2 counter halflife cheater
hacker michael1 jennifer1 jordan23 jordan1 charlie1 robert1 thomas1 daniel1 andrew1 joshua1
matthew1 anthony1 william1 richard1 patrick1 jackson1 joseph1 michelle1 ashley1 nicole1
amanda1 jessica2 samantha1 heather1 melissa1 elizabeth rebecca stephanie jennifer2 alexander
alexandra christopher christina jonathan benjamin nicholas katherine victoria1 cheese1
chocolate cookie1 cupcake candy sugar honey honeybee banana1 orange1 apple1 strawberry
pumpkin peaches cherry lemon coconut pepper1 ginger1 cinnamon vanilla purple1 yellow1
orange12 silver1 golden1 diamond1 crystal1 emerald ruby sapphire flower1 rose daisy lily
tulip sunflower rainbow unicorn butterfly1 ladybug tiger lion eagle falcon1 hawk wolf bear
panther jaguar cobra python viper shark dolphin1 puppy kitty kitten doggie doggy puppies
kittycat bigdog1 snoopy1 scooby1 garfield mustang2 corvette1 ferrari1 porsche1 mercedes1 bmw
audi toyota honda yamaha1 harley1 chevy ford mustanggt camaro1 nissan subaru mazda
volkswagen jeep dodge baseball2 basketball volleyball softball golf golfer1 tennis1 boxing
wrestling racing steelers1 cowboys1 eagles1 patriots packers redskins raiders1 broncos
giants yankees1 redsox1 lakers1 bulls celtics knicks rangers1 bruins canadiens chelsea2
liverpool1 letmein2 welcome2 hello123 hello1 helloworld trustme trustno1 whatever1 nothing
nobody somebody everybody anything something nevermind qwertyuiop1 qwertyui asdfghjk
zxcvbnm123 poiuytrewq lkjhgfdsa mnbvcxz iloveyou! password! passwordpassword passpass
1password mypassword yourpassword secretpassword newpassword oldpassword temppassword
temp1234 test1234 testing test123 testtest demo demo1234 sample example letmein123 changeme1
changeme123 default1 admin1 admin12 admin123 admin1234 administrator1 root123 root1234
toor123 guest123 user123 user1234 login123 master123 super123 manager manager1 support
support123 sysadmin webmaster webadmin superuser supervisor operator service service123
empora empora123 emporapassword shop shopping store store123 ecommerce checkout
"""
)

NAMES = _words(
    """
michael christopher matthew joshua daniel david andrew james justin joseph ryan john robert
nicholas anthony william jonathan kyle brandon jacob tyler zachary kevin eric steven thomas
brian alexander jordan timothy cody adam benjamin aaron richard patrick sean charles jeremy
stephen jose travis jeffrey nathan samuel mark jason jennifer jessica ashley amanda sarah
stephanie melissa nicole elizabeth heather tiffany michelle amber megan amy rachel kimberly
christina lauren crystal brittany rebecca laura danielle emily samantha angela erin kelly
sara lisa katherine andrea jamie mary natalie anna victoria maria sophia olivia emma ava
isabella mia charlotte amelia harper evelyn abigail liam noah oliver elijah lucas mason
logan ethan aiden jackson sebastian henry owen carter wyatt luke gabriel dylan isaac
"""
)

SUFFIXES = ["", "1", "12", "123", "1234", "!", "1!", "69", "01"]
YEARS = [str(y) for y in range(1980, 2031)]
LEET = str.maketrans({"a": "@", "o": "0", "e": "3", "i": "1", "s": "$"})
LEET_SOFT = str.maketrans({"a": "4", "o": "0", "e": "3", "i": "1", "s": "5"})


def keyboard_walks() -> set[str]:
    rows = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "0987654321"]
    walks: set[str] = set()
    for row in rows:
        for length in range(8, len(row) + 1):
            walks.add(row[:length])
            walks.add(row[:length][::-1])
    columns = ["1qaz", "2wsx", "3edc", "4rfv", "5tgb", "6yhn", "7ujm"]
    for n in range(2, len(columns) + 1):
        walks.add("".join(columns[:n]))
    pairs = ["1q", "2w", "3e", "4r", "5t", "6y", "7u", "8i", "9o", "0p"]
    for n in range(4, len(pairs) + 1):
        walks.add("".join(pairs[:n]))
        walks.add("".join(p[::-1] for p in pairs[:n]))
    walks.update(
        {
            "zaq12wsx",
            "!qaz2wsx",
            "1qaz@wsx",
            "1qaz!qaz",
            "qazwsxedc",
            "qazwsxedcrfv",
            "qwertyqwerty",
            "asdfasdf",
            "qweqweqwe",
            "qwe123qwe",
            "123qweasd",
            "qweasdzxc",
            "zxczxczxc",
            "asdasdasd",
            "1q2w3e4r5t6y7u8i",
            "q1w2e3r4t5y6",
        }
    )
    return walks


def number_patterns() -> set[str]:
    out: set[str] = set()
    for digit in "0123456789":
        for length in range(8, 13):
            out.add(digit * length)
    for start in range(10):
        seq = "".join(str((start + i) % 10) for i in range(12))
        for length in range(8, 13):
            out.add(seq[:length])
            out.add(seq[:length][::-1])
    for chunk in ["12", "123", "1234", "12345", "123456", "69", "007", "2580", "1122", "1212"]:
        rep = chunk * (12 // len(chunk) + 1)
        for length in range(8, 13):
            out.add(rep[:length])
    out.update(
        {
            "8675309" + "0",
            "86753090",
            "11223344",
            "112233445566",
            "123123123",
            "147258369",
            "159357456",
            "1234512345",
            "1357924680",
            "2468013579",
            "5201314520",
            "147852369",
            "963852741",
            "741852963",
            "12341234",
            "99887766",
        }
    )
    # Dates: ddmmyyyy and mmddyyyy on the first of each month, and yyyymmdd.
    for year in range(1960, 2031):
        out.add(f"0101{year}")
        out.add(f"{year}0101")
        out.add(f"1231{year}")
    return out


def letter_patterns() -> set[str]:
    out: set[str] = set()
    for letter in "abcdefghijklmnopqrstuvwxyz":
        out.add(letter * 8)
        out.add(letter * 10)
    out.update(
        {
            "abcdefgh",
            "abcdefghi",
            "abcdefghij",
            "abcdefghijk",
            "abcdefghijklmnop",
            "abcabcabc",
            "abc123abc",
            "aaaaaaaa1",
            "aabbccdd",
            "abcd1234",
            "1234abcd",
            "zyxwvuts",
        }
    )
    return out


def generate() -> list[str]:
    words: set[str] = set()
    bases = list(dict.fromkeys(TOP + NAMES))
    for base in bases:
        for suffix in SUFFIXES:
            words.add(base + suffix)
    for base in TOP[:40] + NAMES[:10]:
        for year in YEARS:
            words.add(base + year)
    for base in TOP[:120]:
        for candidate in (base.translate(LEET), base.translate(LEET_SOFT)):
            for suffix in ("", "1"):
                words.add(candidate + suffix)
    for first, second in product(["i love", "ilove", "love", "my"], ["you", "me", "him", "her"]):
        words.add((first + second).replace(" ", ""))
    words |= keyboard_walks() | number_patterns() | letter_patterns()
    kept = {w.lower() for w in words if 8 <= len(w) <= 128}
    return sorted(kept)


def main() -> None:
    entries = generate()
    OUT.write_text("\n".join(entries) + "\n", encoding="utf-8")
    print(f"wrote {len(entries)} entries to {OUT}")


if __name__ == "__main__":
    main()
