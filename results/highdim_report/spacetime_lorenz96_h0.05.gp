set encoding utf8
set terminal svg size 760,820 dynamic enhanced font 'Helvetica,13' background '#ffffff'
set output 'spacetime_lorenz96_h0.05.svg.tmp'
set ylabel 'site'
set yrange [0.5:40.5]
set xrange [0:2]
set multiplot layout 3,1 title "Space-time forecast of lorenz96 from one test state, h = 0.05: truth, trk10 forecast, error" noenhanced
set cbrange [-6.03253:11.8121]
set palette defined (0 '#313695', 0.5 '#ffffbf', 1 '#a50026')
set title 'truth' noenhanced
unset xlabel
plot 'spacetime_lorenz96_h0.05.dat' index 0 using 1:2:3 with image notitle
set cbrange [-6.03253:11.8121]
set palette defined (0 '#313695', 0.5 '#ffffbf', 1 '#a50026')
set title 'forecast' noenhanced
unset xlabel
plot 'spacetime_lorenz96_h0.05.dat' index 1 using 1:2:3 with image notitle
set cbrange [-0.00128635:0.00128635]
set palette defined (0 '#2166ac', 0.5 '#f7f7f7', 1 '#b2182b')
set title 'forecast - truth' noenhanced
set xlabel 'lead time'
plot 'spacetime_lorenz96_h0.05.dat' index 2 using 1:2:3 with image notitle
unset multiplot
