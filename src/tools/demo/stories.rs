//! The demo newsroom's tags and stories. Written for Newsdesk; every name, quote and event in
//! them is invented.

use crate::articles::{ArticleType, Status};
use crate::tools::demo::pictures::{Foreground, Scene};

pub struct DemoTag {
    pub slug: &'static str,
    pub kind: &'static str,
    /// (language, name)
    pub names: &'static [(&'static str, &'static str)],
}

pub struct DemoText {
    pub lang: &'static str,
    pub title: &'static str,
    pub subtitle: &'static str,
    pub body: &'static str,
    /// Which language this one was translated from.
    pub from: Option<&'static str>,
    pub status: Status,
}

/// A story's featured picture: drawn by the demo, uploaded to the media library.
pub struct DemoPicture {
    pub scene: Scene,
    pub focal: (f64, f64),
    /// (language, alt text, caption)
    pub texts: &'static [(&'static str, &'static str, &'static str)],
}

pub struct DemoStory {
    pub kind: ArticleType,
    pub tags: &'static [&'static str],
    pub featured: bool,
    /// Index into [`JOURNALISTS`].
    pub byline: usize,
    pub hours_ago: i64,
    pub image: Option<DemoPicture>,
    pub texts: &'static [DemoText],
    /// Live entries per language, oldest first.
    pub entries: &'static [(&'static str, &'static [&'static str])],
}

/// Demo journalists: (email, display name, role). Their passwords are random and never shown;
/// an admin can set one.
pub const JOURNALISTS: [(&str, &str, crate::auth::Role); 3] = [
    (
        "nino.k@newsdesk.local",
        "Nino Kavtaradze",
        crate::auth::Role::Editor,
    ),
    (
        "aram.s@newsdesk.local",
        "Aram Sargsyan",
        crate::auth::Role::Author,
    ),
    (
        "leyla.m@newsdesk.local",
        "Leyla Mammadova",
        crate::auth::Role::Contributor,
    ),
];

pub const TAGS: &[DemoTag] = &[
    DemoTag {
        slug: "georgia-russia",
        kind: "topic",
        names: &[
            ("en", "Georgia–Russia"),
            ("ru", "Грузия–Россия"),
            ("ka", "საქართველო–რუსეთი"),
            ("hy", "Վրաստան–Ռուսաստան"),
            ("az", "Gürcüstan–Rusiya"),
        ],
    },
    DemoTag {
        slug: "georgia",
        kind: "country",
        names: &[
            ("en", "Georgia"),
            ("ru", "Грузия"),
            ("ka", "საქართველო"),
            ("hy", "Վրաստան"),
            ("az", "Gürcüstan"),
        ],
    },
    DemoTag {
        slug: "russia",
        kind: "country",
        names: &[
            ("en", "Russia"),
            ("ru", "Россия"),
            ("ka", "რუსეთი"),
            ("hy", "Ռուսաստան"),
            ("az", "Rusiya"),
        ],
    },
    DemoTag {
        slug: "armenia",
        kind: "country",
        names: &[
            ("en", "Armenia"),
            ("ru", "Армения"),
            ("ka", "სომხეთი"),
            ("hy", "Հայաստան"),
            ("az", "Ermənistan"),
        ],
    },
    DemoTag {
        slug: "azerbaijan",
        kind: "country",
        names: &[
            ("en", "Azerbaijan"),
            ("ru", "Азербайджан"),
            ("ka", "აზერბაიჯანი"),
            ("hy", "Ադրբեջան"),
            ("az", "Azərbaycan"),
        ],
    },
    DemoTag {
        slug: "opinion",
        kind: "section",
        names: &[
            ("en", "Opinion"),
            ("ru", "Мнения"),
            ("ka", "მოსაზრება"),
            ("hy", "Կարծիք"),
            ("az", "Rəy"),
        ],
    },
];

pub const STORIES: &[DemoStory] = &[
    DemoStory {
        kind: ArticleType::News,
        tags: &["georgia-russia", "georgia", "russia"],
        featured: true,
        byline: 0,
        hours_ago: 3,
        image: Some(DemoPicture {
            scene: Scene {
                sky: [122, 168, 214],
                horizon: [236, 206, 170],
                sun: (0.72, 0.34),
                ridges: [[126, 140, 160], [84, 104, 96], [56, 78, 62]],
                foreground: Foreground::Road,
                seed: 1.3,
            },
            focal: (0.5, 0.78),
            texts: &[
                ("en", "Lorries queue on a mountain road at a border crossing", "Freight traffic waits at the mountain crossing"),
                ("ru", "Грузовики стоят в очереди на горной дороге у пограничного перехода", "Грузовой транспорт ждёт у горного перехода"),
                ("ka", "სატვირთო მანქანები რიგში დგანან მთის გზაზე სასაზღვრო გადასასვლელთან", "სატვირთო ტრანსპორტი მთის გადასასვლელთან ელოდება"),
                ("hy", "Բեռնատարները հերթ են կանգնել լեռնային ճանապարհին՝ սահմանային անցակետի մոտ", "Բեռնափոխադրումները սպասում են լեռնային անցակետում"),
                ("az", "Yük maşınları sərhəd keçidində dağ yolunda növbə gözləyir", "Yük nəqliyyatı dağ keçidində gözləyir"),
            ],
        }),
        texts: &[
            DemoText {
                lang: "en",
                title: "Georgia and Russia agree to reopen talks on the mountain crossing",
                subtitle: "Negotiators will meet in Geneva next month to discuss freight rules and queues at the border",
                body: "<p>Delegations from Tbilisi and Moscow have agreed to resume technical talks on the main mountain crossing between the two countries, officials on both sides said on Tuesday.</p>\
<p>The talks, the first in more than a year, are expected to focus on freight inspection rules. Hauliers say lorries wait up to three days in summer, when traffic peaks.</p>\
<h2>What is on the table</h2>\
<ul><li>Shared inspection points on the Georgian side</li><li>Electronic queue booking for freight</li><li>Weather warnings for the pass in winter</li></ul>\
<p>“We are talking about roads and lorries, not about politics,” said a Georgian negotiator who asked not to be named. Opposition parties in Tbilisi warned that any deal must not touch questions of territory.</p>\
<blockquote><p>Drivers should not have to sleep in their cabs for three nights to deliver apples.</p></blockquote>\
<p>The Geneva meeting is scheduled for the second week of next month.</p>",
                from: None,
                status: Status::Published,
            },
            DemoText {
                lang: "ru",
                title: "Грузия и Россия договорились возобновить переговоры о горном переходе",
                subtitle: "Переговорщики встретятся в Женеве в следующем месяце, чтобы обсудить правила для грузов и очереди на границе",
                body: "<p>Делегации Тбилиси и Москвы договорились возобновить технические переговоры о главном горном переходе между двумя странами, сообщили во вторник официальные лица обеих сторон.</p>\
<p>Ожидается, что переговоры, первые более чем за год, будут посвящены правилам досмотра грузов. Перевозчики говорят, что летом, в пик движения, фуры ждут до трёх дней.</p>\
<h2>Что обсуждается</h2>\
<ul><li>Общие пункты досмотра на грузинской стороне</li><li>Электронная очередь для грузовиков</li><li>Предупреждения о погоде на перевале зимой</li></ul>\
<p>«Мы говорим о дорогах и грузовиках, а не о политике», — сказал грузинский переговорщик, попросивший не называть его имени. Оппозиционные партии в Тбилиси предупредили, что соглашение не должно касаться территориальных вопросов.</p>\
<p>Встреча в Женеве запланирована на вторую неделю следующего месяца.</p>",
                from: Some("en"),
                status: Status::Published,
            },
            DemoText {
                lang: "ka",
                title: "საქართველო და რუსეთი მთის გადასასვლელზე მოლაპარაკებებს განაახლებენ",
                subtitle: "მომლაპარაკებლები მომავალ თვეს ჟენევაში შეხვდებიან ტვირთის წესებისა და საზღვარზე რიგების განსახილველად",
                body: "<p>თბილისისა და მოსკოვის დელეგაციები შეთანხმდნენ, განაახლონ ტექნიკური მოლაპარაკებები ორ ქვეყანას შორის მთავარ მთის გადასასვლელზე, განაცხადეს სამშაბათს ორივე მხარის ოფიციალურმა პირებმა.</p>\
<p>მოლაპარაკებები, პირველი ერთ წელზე მეტი ხნის განმავლობაში, ტვირთის შემოწმების წესებს შეეხება. გადამზიდავების თქმით, ზაფხულში, მოძრაობის პიკის დროს, სატვირთოები სამ დღემდე ელოდებიან.</p>\
<h2>რა განიხილება</h2>\
<ul><li>შემოწმების საერთო პუნქტები ქართულ მხარეს</li><li>ელექტრონული რიგი სატვირთოებისთვის</li><li>ზამთარში უღელტეხილზე ამინდის გაფრთხილებები</li></ul>\
<p>ჟენევის შეხვედრა მომავალი თვის მეორე კვირას არის დაგეგმილი.</p>",
                from: Some("en"),
                status: Status::Published,
            },
        ],
        entries: &[],
    },
    DemoStory {
        kind: ArticleType::News,
        tags: &["georgia"],
        featured: false,
        byline: 0,
        hours_ago: 20,
        image: Some(DemoPicture {
            scene: Scene {
                sky: [38, 52, 96],
                horizon: [236, 146, 96],
                sun: (0.8, 0.42),
                ridges: [[92, 84, 120], [70, 64, 96], [50, 48, 70]],
                foreground: Foreground::City,
                seed: 2.2,
            },
            focal: (0.4, 0.75),
            texts: &[
                ("en", "Evening lights in apartment blocks of a Tbilisi district", "Vake and Saburtalo, where the new bus routes run"),
                ("ru", "Вечерние огни в жилых домах одного из районов Тбилиси", "Ваке и Сабуртало, где пройдут новые автобусные маршруты"),
                ("ka", "საღამოს შუქები თბილისის ერთ-ერთი უბნის საცხოვრებელ კორპუსებში", "ვაკე და საბურთალო, სადაც ავტობუსების ახალი მარშრუტები გაივლის"),
                ("hy", "Երեկոյան լույսեր Թբիլիսիի թաղամասերից մեկի բնակելի շենքերում", "Վակե և Սաբուրթալո, որտեղով կանցնեն ավտոբուսների նոր երթուղիները"),
                ("az", "Tbilisi rayonlarından birində yaşayış binalarında axşam işıqları", "Yeni avtobus marşrutlarının keçəcəyi Vake və Saburtalo"),
            ],
        }),
        texts: &[
            DemoText {
                lang: "ka",
                title: "თბილისის საკრებულომ ავტობუსების ახალი მარშრუტები დაამტკიცა",
                subtitle: "ცვლილებები ვაკესა და საბურთალოს მგზავრებს შეეხება",
                body: "<p>თბილისის საკრებულომ ოთხშაბათს ავტობუსების თორმეტი ახალი მარშრუტი დაამტკიცა. ცვლილებები მომავალი თვის პირველი რიცხვიდან ამოქმედდება.</p>\
<p>მერიის ცნობით, ახალი ქსელი მგზავრობის დროს საშუალოდ ათი წუთით შეამცირებს. მოქალაქეები რუკას მერიის ვებგვერდზე ნახავენ.</p>\
<p>ოპოზიციის წარმომადგენლებმა განაცხადეს, რომ გარეუბნების მცხოვრებლებს ცვლილებების შესახებ საკმარისი ინფორმაცია არ მიუღიათ.</p>",
                from: None,
                status: Status::Published,
            },
            DemoText {
                lang: "en",
                title: "Tbilisi council approves new bus routes",
                subtitle: "The changes affect passengers in Vake and Saburtalo",
                body: "<p>Tbilisi city council on Wednesday approved twelve new bus routes, which take effect on the first day of next month.</p>\
<p>City hall says the new network will cut journey times by ten minutes on average. Residents can find the map on the city's website.</p>\
<p>Opposition councillors said people in the outer districts had not been told enough about the changes.</p>",
                from: Some("ka"),
                status: Status::Published,
            },
        ],
        entries: &[],
    },
    DemoStory {
        kind: ArticleType::News,
        tags: &["armenia"],
        featured: true,
        byline: 1,
        hours_ago: 30,
        image: Some(DemoPicture {
            scene: Scene {
                sky: [170, 190, 214],
                horizon: [244, 222, 196],
                sun: (0.3, 0.3),
                ridges: [[180, 150, 150], [150, 120, 110], [120, 96, 84]],
                foreground: Foreground::Arches,
                seed: 4.1,
            },
            focal: (0.5, 0.7),
            texts: &[
                ("en", "Arches of a new metro platform in Yerevan before opening", "The new station will serve up to twenty thousand passengers a day"),
                ("ru", "Арки новой платформы метро в Ереване перед открытием", "Новая станция будет обслуживать до двадцати тысяч пассажиров в день"),
                ("ka", "ერევნის მეტროს ახალი პლატფორმის თაღები გახსნამდე", "ახალი სადგური დღეში ოც ათასამდე მგზავრს მოემსახურება"),
                ("hy", "Երևանի մետրոյի նոր կառամատույցի կամարները բացումից առաջ", "Նոր կայարանը կսպասարկի օրական մինչև քսան հազար ուղևոր"),
                ("az", "Açılışdan əvvəl İrəvanda yeni metro platformasının tağları", "Yeni stansiya gündə iyirmi minə qədər sərnişinə xidmət edəcək"),
            ],
        }),
        texts: &[
            DemoText {
                lang: "hy",
                title: "Երևանում բացվեց մետրոյի նոր կայարան",
                subtitle: "Կայարանը կսպասարկի օրական մինչև քսան հազար ուղևոր",
                body: "<p>Երևանի մետրոպոլիտենը շաբաթ օրը բացեց տասը տարվա ընթացքում առաջին նոր կայարանը։</p>\
<p>Քաղաքապետարանի տվյալներով՝ կայարանը օրական կսպասարկի մինչև քսան հազար ուղևոր։ Շինարարությունը տևեց չորս տարի։</p>\
<p>Բնակիչները ողջունեցին բացումը, սակայն նշեցին, որ կայարանի մոտ կանգառները դեռ բավարար չեն։</p>",
                from: None,
                status: Status::Published,
            },
            DemoText {
                lang: "en",
                title: "Yerevan opens a new metro station",
                subtitle: "The station will serve up to twenty thousand passengers a day",
                body: "<p>Yerevan's metro opened its first new station in ten years on Saturday.</p>\
<p>City hall says the station will serve up to twenty thousand passengers a day. Construction took four years.</p>\
<p>Residents welcomed the opening but said there were still too few bus stops nearby.</p>",
                from: Some("hy"),
                status: Status::Published,
            },
        ],
        entries: &[],
    },
    DemoStory {
        kind: ArticleType::Analysis,
        tags: &["azerbaijan"],
        featured: false,
        byline: 2,
        hours_ago: 50,
        image: Some(DemoPicture {
            scene: Scene {
                sky: [64, 86, 150],
                horizon: [250, 170, 110],
                sun: (0.5, 0.46),
                ridges: [[120, 96, 120], [92, 72, 92], [64, 52, 66]],
                foreground: Foreground::Pylons,
                seed: 5.7,
            },
            focal: (0.3, 0.6),
            texts: &[
                ("en", "Power lines on pylons crossing a valley at sunset", "Linking the South Caucasus power grids tops the forum's agenda"),
                ("ru", "Линии электропередачи на опорах пересекают долину на закате", "Объединение энергосетей Южного Кавказа — главная тема форума"),
                ("ka", "ელექტროგადამცემი ხაზები ანძებზე ხეობას კვეთს მზის ჩასვლისას", "სამხრეთ კავკასიის ელექტროქსელების დაკავშირება ფორუმის მთავარი თემაა"),
                ("hy", "Էլեկտրահաղորդման գծերը հենասյուների վրա հատում են հովիտը մայրամուտին", "Հարավային Կովկասի էլեկտրացանցերի միավորումը ֆորումի գլխավոր թեման է"),
                ("az", "Gün batarkən dayaqlar üzərində elektrik xətləri vadini keçir", "Cənubi Qafqazın elektrik şəbəkələrinin birləşdirilməsi forumun əsas mövzusudur"),
            ],
        }),
        texts: &[
            DemoText {
                lang: "az",
                title: "Bakıda regional enerji forumu başladı",
                subtitle: "Forumda Cənubi Qafqazın elektrik şəbəkələrinin birləşdirilməsi müzakirə olunur",
                body: "<p>Bakıda iki günlük regional enerji forumu başlayıb. Tədbirdə on iki ölkədən nümayəndələr iştirak edir.</p>\
<p>Forumun əsas mövzusu Cənubi Qafqaz ölkələrinin elektrik şəbəkələrinin birləşdirilməsidir. Ekspertlər bildirirlər ki, bu, qış aylarında enerji çatışmazlığını azalda bilər.</p>\
<p>Ətraf mühit təşkilatları isə bərpa olunan enerjiyə daha çox sərmayə qoyulmasını tələb edir.</p>",
                from: None,
                status: Status::Published,
            },
            DemoText {
                lang: "en",
                title: "Baku hosts a regional energy forum",
                subtitle: "Linking the South Caucasus power grids is at the top of the agenda",
                body: "<p>A two-day regional energy forum has opened in Baku, with delegates from twelve countries.</p>\
<p>The main subject is linking the power grids of the South Caucasus countries. Experts say this could ease shortages in the winter months.</p>\
<p>Environmental groups are calling for more investment in renewable energy.</p>",
                from: Some("az"),
                status: Status::Published,
            },
        ],
        entries: &[],
    },
    DemoStory {
        kind: ArticleType::Live,
        tags: &["georgia", "armenia", "azerbaijan"],
        featured: true,
        byline: 0,
        hours_ago: 1,
        image: None,
        texts: &[
            DemoText {
                lang: "en",
                title: "Live: South Caucasus foreign ministers meet in Tbilisi",
                subtitle: "Updates from the one-day meeting as they happen",
                body: "<p>The foreign ministers of Georgia, Armenia and Azerbaijan are meeting in Tbilisi for the first three-way talks this year. Follow our updates below.</p>",
                from: None,
                status: Status::Published,
            },
            DemoText {
                lang: "ru",
                title: "Онлайн: главы МИД стран Южного Кавказа встречаются в Тбилиси",
                subtitle: "Обновления с однодневной встречи",
                body: "<p>Министры иностранных дел Грузии, Армении и Азербайджана проводят в Тбилиси первую в этом году трёхстороннюю встречу. Следите за обновлениями.</p>",
                from: Some("en"),
                status: Status::Published,
            },
        ],
        entries: &[
            (
                "en",
                &[
                    "<p>The ministers have arrived at the conference hall. The meeting is due to start at 11:00.</p>",
                    "<p>Opening remarks are over. The talks continue behind closed doors.</p>",
                    "<p>A joint statement on transport links is expected in the afternoon, a spokesperson says.</p>",
                ],
            ),
            (
                "ru",
                &[
                    "<p>Министры прибыли в конференц-зал. Встреча начнётся в 11:00.</p>",
                    "<p>Вступительные речи завершились, переговоры продолжаются за закрытыми дверями.</p>",
                ],
            ),
        ],
    },
    DemoStory {
        kind: ArticleType::Opinion,
        tags: &["opinion"],
        featured: false,
        byline: 1,
        hours_ago: 72,
        image: None,
        texts: &[DemoText {
            lang: "en",
            title: "Why a local newsroom should publish in five languages",
            subtitle: "Readers trust the news they can read in the language they think in",
            body: "<p>Every morning our readers open the same story in English, Russian, Georgian, Armenian or Azerbaijani. Each of them expects it to be as accurate, as quick and as readable as in any other language.</p>\
<p>Publishing in five languages is not translation as an afterthought. It is five editions of one newsroom, each with its own readers, its own questions and its own mistakes to correct.</p>\
<p>The work is slower and more expensive. It is also the only way to report on a region whose people share roads, rivers and markets, but rarely a language.</p>",
            from: None,
            status: Status::Published,
        }, DemoText {
            lang: "ka",
            title: "რატომ უნდა გამოსცემდეს ადგილობრივი რედაქცია ხუთ ენაზე",
            subtitle: "მკითხველები ენდობიან ამბებს, რომლებსაც იმ ენაზე კითხულობენ, რომელზეც ფიქრობენ",
            body: "<p>ყოველ დილით ჩვენი მკითხველები ერთსა და იმავე ამბავს ხუთ ენაზე ხსნიან.</p>",
            from: Some("en"),
            status: Status::InReview,
        }],
        entries: &[],
    },
    DemoStory {
        kind: ArticleType::Digest,
        tags: &["georgia", "armenia"],
        featured: false,
        byline: 2,
        hours_ago: 2,
        image: None,
        texts: &[DemoText {
            lang: "ru",
            title: "Главное за неделю: дороги, выборы и цены на хлеб",
            subtitle: "Черновик дайджеста",
            body: "<p>Черновик: три главные темы недели в регионе.</p>",
            from: None,
            status: Status::Draft,
        }],
        entries: &[],
    },
];

/// A demo donation prompt: placement, priority, targeted tags, and per language the headline,
/// body and button label.
pub struct DemoPrompt {
    pub name: &'static str,
    pub placement: crate::prompts::Placement,
    pub priority: i32,
    pub tags: &'static [&'static str],
    pub texts: &'static [(&'static str, &'static str, &'static str, &'static str)],
}

pub const PROMPTS: &[DemoPrompt] = &[
    DemoPrompt {
        name: "Support our newsroom (after every article)",
        placement: crate::prompts::Placement::ArticleEnd,
        priority: 0,
        tags: &[],
        texts: &[
            ("en", "Support our newsroom", "<p>We report from Tbilisi, Yerevan and Baku in five languages, and no owner or advertiser tells us what to write. Readers like you keep it that way.</p>", "Support Us"),
            ("ru", "Поддержите нашу редакцию", "<p>Мы пишем из Тбилиси, Еревана и Баку на пяти языках, и ни владельцы, ни рекламодатели не указывают нам, о чём писать. Так остаётся благодаря читателям.</p>", "Поддержать"),
            ("ka", "მხარი დაუჭირეთ ჩვენს რედაქციას", "<p>ჩვენ ვწერთ თბილისიდან, ერევნიდან და ბაქოდან ხუთ ენაზე და არავინ გვკარნახობს, რა დავწეროთ. ეს ასე რჩება მკითხველების დახმარებით.</p>", "მხარდაჭერა"),
            ("hy", "Աջակցեք մեր խմբագրությանը", "<p>Մենք գրում ենք Թբիլիսիից, Երևանից և Բաքվից՝ հինգ լեզվով, և ոչ ոք մեզ չի թելադրում, թե ինչ գրենք։ Դա հնարավոր է ընթերցողների շնորհիվ։</p>", "Աջակցել"),
            ("az", "Redaksiyamıza dəstək olun", "<p>Biz Tbilisi, İrəvan və Bakıdan beş dildə yazırıq və heç kim bizə nə yazacağımızı diktə etmir. Bu, oxucularımız sayəsində mümkündür.</p>", "Dəstək ol"),
        ],
    },
    DemoPrompt {
        name: "Support Us (header button)",
        placement: crate::prompts::Placement::Header,
        priority: 0,
        tags: &[],
        texts: &[
            ("en", "Support Us", "", "Support Us"),
            ("ru", "Поддержите нас", "", "Поддержать"),
            ("ka", "მხარი დაგვიჭირეთ", "", "მხარდაჭერა"),
            ("hy", "Աջակցեք մեզ", "", "Աջակցել"),
            ("az", "Bizə dəstək olun", "", "Dəstək ol"),
        ],
    },
    DemoPrompt {
        name: "Georgia–Russia coverage appeal",
        placement: crate::prompts::Placement::ArticleEnd,
        priority: 1,
        tags: &["georgia-russia"],
        texts: &[
            ("en", "Keep our Georgia–Russia reporting going", "<p>Our correspondents cover the occupation line, the talks and the people living between them. Help us keep them on the ground.</p>", "Support this coverage"),
            ("ru", "Помогите нам продолжать репортажи о Грузии и России", "<p>Наши корреспонденты работают у линии оккупации, на переговорах и среди людей, живущих между ними. Помогите им оставаться на месте.</p>", "Поддержать"),
        ],
    },
];
